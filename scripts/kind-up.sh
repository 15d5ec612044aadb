#!/usr/bin/env bash
# Brings up volwatch on a local kind cluster, idempotently: cluster,
# kube-prometheus-stack (pinned in charts/kube-prometheus-stack/chart.env),
# the image, then manifests/ (CRD-backed objects after the CRDs exist).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-runtime.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/node-runtime.sh"

usage() {
  cat <<USAGE
usage: scripts/kind-up.sh [--dry-run] [--name CLUSTER] [--manifests DIR] [--image REF] [--skip-build]
  --name CLUSTER    kind cluster name (default: volwatch)
  --manifests DIR   synthesized manifests to apply (default: manifests/)
  --image REF       image to build and load (default: ghcr.io/volwatch/volwatch:<package.json version>)
  --skip-build      load an image you built yourself instead of running docker build
  --dry-run         print the commands instead of running them (missing tools only warn)
USAGE
}

CLUSTER=volwatch
MANIFESTS="$VOLWATCH_ROOT/manifests"
IMAGE=''
BUILD=1
parse_args '--name=CLUSTER --manifests=MANIFESTS --image=IMAGE --skip-build:BUILD=0' "$@"

tools=(kind kubectl helm)
((BUILD)) && tools+=(docker)
need_tools "${tools[@]}"
load_chart_env
[[ -n "$IMAGE" ]] || IMAGE=$(default_image)
[[ -d "$MANIFESTS" ]] || die "manifest directory $MANIFESTS not found: run npm run synth"
CTX="kind-$CLUSTER"
KCFG="$VOLWATCH_ROOT/scripts/kind/cluster.yaml"
KUBECTL=(kubectl --context "$CTX")
HELM=(helm --kube-context "$CTX")
# shellcheck source-path=SCRIPTDIR source=lib/cluster-install.sh
source "$VOLWATCH_ROOT/scripts/lib/cluster-install.sh"

log "1/6 kind cluster $CLUSTER"
if ! is_dry_run && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "cluster $CLUSTER exists: reusing it"
else
  run kind create cluster --name "$CLUSTER" --config "$KCFG" --wait 180s
fi

log "2/6 monitoring namespace and Grafana admin Secret"
install_grafana_secret

log "3/6 $CHART_NAME $CHART_VERSION"
run helm repo add "$CHART_REPO_NAME" "$CHART_REPO_URL" --force-update
run helm repo update "$CHART_REPO_NAME"
install_chart "$CHART_REPO_NAME/$CHART_NAME" --version "$CHART_VERSION"

log "4/6 image $IMAGE"
if ((BUILD)); then
  run docker build --tag "$IMAGE" --build-arg NODE_VERSION="$(node_runtime_pin)" "$VOLWATCH_ROOT"
fi
run kind load docker-image "$IMAGE" --name "$CLUSTER"

log "5/6 manifests"
apply_manifests "$MANIFESTS"

log "6/6 rollouts"
wait_rollouts "$MANIFESTS"

cat <<DONE

volwatch is up on kind cluster $CLUSTER (context $CTX).
  Port-forward everything:  scripts/port-forward.sh
    Prometheus    http://127.0.0.1:9090
    Grafana       http://127.0.0.1:3000   (user admin, folder "Volwatch")
    Alertmanager  http://127.0.0.1:9093
    API           http://127.0.0.1:8080   (POST /predict, GET /version)
  Grafana password:
    kubectl --context $CTX -n $RELEASE_NAMESPACE get secret $GRAFANA_ADMIN_SECRET -o jsonpath='{.data.admin-password}' | base64 -d; echo
  Smoke test:  scripts/cluster-smoke.sh
DONE
