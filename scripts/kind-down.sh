#!/usr/bin/env bash
# Deletes the volwatch kind cluster (and with it everything deployed into it).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
usage: scripts/kind-down.sh [--dry-run] [--name CLUSTER]
  --name CLUSTER  kind cluster to delete (default: volwatch)
  --dry-run       print the commands instead of running them
USAGE
}

CLUSTER=volwatch
parse_args '--name=CLUSTER' "$@"

need_tools kind

if ! is_dry_run && ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "kind cluster $CLUSTER does not exist: nothing to delete"
  exit 0
fi
run kind delete cluster --name "$CLUSTER"
