#!/usr/bin/env bash
# Builds everything the local Kubernetes node runs, without Docker and once per version:
# the binaries from the Go module proxy (scripts/lib/gobuild.sh; the Kubernetes ones
# through scripts/control-plane.sh's module), then the OCI images the node imports
# into containerd (scripts/node-images.sh). Versions: scripts/lib/node-env.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/gobuild.sh
source "$VOLWATCH_ROOT/scripts/lib/gobuild.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-env.sh
source "$VOLWATCH_ROOT/scripts/lib/node-env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-builds.sh
source "$VOLWATCH_ROOT/scripts/lib/node-builds.sh"

usage() {
  cat <<USAGE
usage: scripts/node-build.sh [--dry-run] [binaries|images|all]
  binaries  kubelet, kube-proxy, kube-controller-manager, kube-scheduler, kubectl (with
            kube-apiserver and etcd), containerd $CONTAINERD_VERSION, CNI plugins $CNI_PLUGINS_VERSION,
            crictl $CRICTL_VERSION, crane $CRANE_VERSION, CoreDNS $COREDNS_VERSION, Helm $HELM_VERSION,
            prometheus-operator and its config reloader, Prometheus and Alertmanager
  images    the OCI image archives the node imports (needs the binaries)
  all       both (the default)
  --dry-run print the commands instead of running them
USAGE
}

WHAT=all
ARGS=()
parse_args '@ARGS' "$@"
for arg in "${ARGS[@]}"; do
  case "$arg" in
    binaries | images | all) WHAT=$arg ;;
    *)
      usage >&2
      die "unknown argument: $arg"
      ;;
  esac
done
load_chart_env

build_monitoring() {
  local tools="$VOLWATCH_ROOT/scripts/monitoring-tools.sh"
  [[ -f "$tools" ]] || die "$tools is missing: it builds Prometheus and Alertmanager for the node's images"
  if is_dry_run; then
    run bash "$tools" --dry-run build prometheus alertmanager
  else
    bash "$tools" build prometheus alertmanager
  fi
}

binaries() {
  local start=$SECONDS c
  need_tools go
  # Kubernetes first: the node cannot start without it, and it takes longest.
  run bash "$VOLWATCH_ROOT/scripts/control-plane.sh" build
  run bash "$VOLWATCH_ROOT/scripts/control-plane.sh" build-node
  for c in containerd cni crictl crane coredns helm operator; do
    "build_$c" >/dev/null
  done
  build_monitoring
  is_dry_run || log "node binaries ready in $((SECONDS - start))s"
}

images() {
  if is_dry_run; then
    run bash "$VOLWATCH_ROOT/scripts/node-images.sh" --dry-run build
  else
    bash "$VOLWATCH_ROOT/scripts/node-images.sh" build
  fi
}

case "$WHAT" in
  binaries) binaries ;;
  images) images ;;
  all)
    binaries
    images
    ;;
esac
