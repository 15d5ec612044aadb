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
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --skip-build) BUILD=0 ;;
    --name | --manifests | --image)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      case "$1" in
        --name) CLUSTER=$2 ;;
        --manifests) MANIFESTS=$2 ;;
        --image) IMAGE=$2 ;;
      esac
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $1"
      ;;
  esac
  shift
done

tools=(kind kubectl helm)
((BUILD)) && tools+=(docker)
need_tools "${tools[@]}"
load_chart_env
[[ -n "$IMAGE" ]] || IMAGE=$(default_image)
[[ -d "$MANIFESTS" ]] || die "manifest directory $MANIFESTS not found: run npm run synth"
NS=volwatch
CTX="kind-$CLUSTER"
KCFG="$VOLWATCH_ROOT/scripts/kind/cluster.yaml"
VALUES="$VOLWATCH_ROOT/charts/kube-prometheus-stack/values.yaml"
k() { run kubectl --context "$CTX" "$@"; }

# Split the manifests: anything of monitoring.coreos.com needs the chart's CRDs first.
core_files=()
crd_files=()
for f in "$MANIFESTS"/*.yaml; do
  [[ -e "$f" ]] || die "no *.yaml in $MANIFESTS: run npm run synth"
  if grep -q '^apiVersion: monitoring.coreos.com/' "$f"; then crd_files+=("$f"); else core_files+=("$f"); fi
done

log "1/7 kind cluster $CLUSTER"
if ! is_dry_run && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "cluster $CLUSTER exists: reusing it"
else
  run kind create cluster --name "$CLUSTER" --config "$KCFG" --wait 180s
fi

log "2/7 monitoring namespace and Grafana admin Secret"
if is_dry_run; then
  print_cmd kubectl --context "$CTX" create namespace "$RELEASE_NAMESPACE"
  print_cmd kubectl --context "$CTX" -n "$RELEASE_NAMESPACE" create secret generic "$GRAFANA_ADMIN_SECRET" \
    --from-literal=admin-user=admin --from-literal=admin-password=RANDOM_32_CHARS
else
  kubectl --context "$CTX" get namespace "$RELEASE_NAMESPACE" >/dev/null 2>&1 ||
    kubectl --context "$CTX" create namespace "$RELEASE_NAMESPACE"
  if kubectl --context "$CTX" -n "$RELEASE_NAMESPACE" get secret "$GRAFANA_ADMIN_SECRET" >/dev/null 2>&1; then
    log "Secret $GRAFANA_ADMIN_SECRET exists: keeping its password"
  else
    password=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
    [[ ${#password} -eq 32 ]] || die "could not generate a Grafana password from /dev/urandom"
    kubectl --context "$CTX" -n "$RELEASE_NAMESPACE" create secret generic "$GRAFANA_ADMIN_SECRET" \
      --from-literal=admin-user=admin --from-literal=admin-password="$password" >/dev/null
    unset password
  fi
fi

log "3/7 $CHART_NAME $CHART_VERSION"
run helm repo add "$CHART_REPO_NAME" "$CHART_REPO_URL" --force-update
run helm repo update "$CHART_REPO_NAME"
run helm upgrade --install "$RELEASE_NAME" "$CHART_REPO_NAME/$CHART_NAME" --version "$CHART_VERSION" \
  --kube-context "$CTX" --namespace "$RELEASE_NAMESPACE" --values "$VALUES" --wait --timeout 15m

log "4/7 image $IMAGE"
if ((BUILD)); then
  run docker build --tag "$IMAGE" --build-arg NODE_VERSION="$(node_runtime_pin)" "$VOLWATCH_ROOT"
fi
run kind load docker-image "$IMAGE" --name "$CLUSTER"

log "5/7 core manifests"
for f in "${core_files[@]}"; do
  # --force-conflicts: the manifests are the source of truth; a re-run restores them.
  k apply --server-side --force-conflicts --field-manager=volwatch -f "$f"
done

log "6/7 CRD-backed manifests"
k wait --for=condition=Established --timeout=180s \
  crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com
for f in "${crd_files[@]}"; do
  k apply --server-side --force-conflicts --field-manager=volwatch -f "$f"
done

log "7/7 rollouts"
if grep -q '^kind: StatefulSet' "$MANIFESTS"/*.yaml; then
  k -n "$NS" rollout status statefulset/kafka --timeout=300s
  k -n "$NS" wait --for=condition=complete job/kafka-topics --timeout=300s
fi
k -n "$NS" rollout status deployment/volwatch-api --timeout=300s
k -n "$NS" rollout status deployment/volwatch-consumer --timeout=300s

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
