#!/usr/bin/env bash
# Runs the tests under test/k8s/ against the ephemeral control plane (scripts/control-plane.sh).
# A control plane that was already running is reused and left running; one started here is stopped.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/test-k8s.sh [--dry-run] [jest arguments...]

Starts etcd + kube-apiserver (building them on first use), runs the Jest tests in test/k8s/
with KUBECONFIG set, stops the control plane again and exits with Jest's exit code.
Environment: see scripts/control-plane.sh --help.
EOF
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTROL_PLANE="$REPO_ROOT/scripts/control-plane.sh"
K8S_DIR="${VOLWATCH_K8S_DIR:-$REPO_ROOT/.work/k8s}"

DRY_RUN=0
JEST_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    *) JEST_ARGS+=("$arg") ;;
  esac
done

missing=()
for tool in node npx; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "test-k8s: missing required tool(s): ${missing[*]} (install Node.js 20)" >&2
  exit 1
fi
if [[ ! -d "$REPO_ROOT/node_modules/jest" ]]; then
  echo "test-k8s: node_modules is not installed; run npm ci first" >&2
  exit 1
fi

JEST=(npx jest -c "$REPO_ROOT/test/k8s/jest.config.js" "${JEST_ARGS[@]}")

if ((DRY_RUN)); then
  bash "$CONTROL_PLANE" --dry-run start
  printf '+ KUBECONFIG=%q' "$K8S_DIR/kubeconfig"; printf ' %q' "${JEST[@]}"; printf '\n'
  bash "$CONTROL_PLANE" --dry-run stop
  exit 0
fi

# Runs sharing one control plane directory would stop each other's servers: take turns.
mkdir -p "$(dirname "$K8S_DIR")"
exec 8>"$K8S_DIR.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 8; then
  echo "test-k8s: another run is using $K8S_DIR; waiting for it to finish (up to 10 minutes)" >&2
  flock -w 600 8 || { echo "test-k8s: gave up waiting for $K8S_DIR.lock" >&2; exit 1; }
fi

started_here=0
# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
  if ((started_here)); then
    bash "$CONTROL_PLANE" stop || echo "test-k8s: stopping the control plane failed" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! bash "$CONTROL_PLANE" status >/dev/null; then
  started_here=1
  bash "$CONTROL_PLANE" start
fi

rc=0
(cd "$REPO_ROOT" && KUBECONFIG="$K8S_DIR/kubeconfig" "${JEST[@]}") || rc=$?
exit "$rc"
