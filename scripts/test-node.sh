#!/usr/bin/env bash
# Runs test/node/ (npm run test:node): a real Kubernetes node on this machine brought up by
# scripts/node-up.sh, kube-prometheus-stack and manifests/ on it, scripts/cluster-smoke.sh,
# then scripts/node-down.sh, checking the host is left as it was. Needs root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/gobuild.sh
source "$VOLWATCH_ROOT/scripts/lib/gobuild.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-env.sh
source "$VOLWATCH_ROOT/scripts/lib/node-env.sh"

usage() {
  cat <<USAGE
usage: scripts/test-node.sh [--dry-run] [jest arguments...]
  Builds what is missing (scripts/node-build.sh), then runs the jest suite test/node/ with the
  node's kubectl and Helm first on PATH. One run at a time per machine (the node's bridge,
  addresses and ports are fixed).
USAGE
}

JEST_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) JEST_ARGS+=("$arg") ;;
  esac
done

[[ -d "$VOLWATCH_ROOT/node_modules/jest" ]] || die "node_modules is not installed: run npm install"
HELM_DIR="$(node_gobin helm "$HELM_VERSION")"
export PATH="$NODE_K8S_BIN:$HELM_DIR:$PATH"
JEST=(npx jest -c "$VOLWATCH_ROOT/test/node/jest.config.js" --runInBand "${JEST_ARGS[@]}")
if is_dry_run; then
  run bash "$VOLWATCH_ROOT/scripts/node-build.sh" all
  run "${JEST[@]}"
  exit 0
fi

# The node's bridge, addresses and ports are the machine's: one run at a time, whichever checkout.
mkdir -p "$NODE_CACHE_DIR"
exec 8>"$NODE_CACHE_DIR/node.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 8; then
  log "another node run holds $NODE_CACHE_DIR/node.lock; waiting (up to 30 minutes)"
  flock -w 1800 8 || die "gave up waiting for $NODE_CACHE_DIR/node.lock"
fi
bash "$VOLWATCH_ROOT/scripts/node-build.sh" all
cd "$VOLWATCH_ROOT"
"${JEST[@]}"
