#!/usr/bin/env bash
# Forwards Prometheus (9090), Grafana (3000), Alertmanager (9093) and the API
# (8080) to 127.0.0.1 until Ctrl-C.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
usage: scripts/port-forward.sh [--dry-run] [--name CLUSTER]
  --name CLUSTER  kind cluster (default: volwatch); uses context kind-CLUSTER
  --dry-run       print the commands instead of running them
USAGE
}

CLUSTER=volwatch
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --name)
      [[ $# -ge 2 ]] || die "--name needs a value"
      CLUSTER=$2
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

need_tools kubectl
load_chart_env
CTX="kind-$CLUSTER"
MON="$RELEASE_NAMESPACE"
# namespace  service  local:remote
forwards=(
  "$MON svc/$RELEASE_NAME-prometheus 9090:9090"
  "$MON svc/$RELEASE_NAME-grafana 3000:80"
  "$MON svc/$RELEASE_NAME-alertmanager 9093:9093"
  "volwatch svc/volwatch-api 8080:8080"
)

pids=()
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

for f in "${forwards[@]}"; do
  read -r ns target ports <<<"$f"
  if is_dry_run; then
    printf '%s &\n' "$(print_cmd kubectl --context "$CTX" -n "$ns" port-forward --address 127.0.0.1 "$target" "$ports")"
  else
    kubectl --context "$CTX" -n "$ns" port-forward --address 127.0.0.1 "$target" "$ports" &
    pids+=("$!")
  fi
done
is_dry_run && exit 0

log "Prometheus http://127.0.0.1:9090  Grafana http://127.0.0.1:3000  Alertmanager http://127.0.0.1:9093  API http://127.0.0.1:8080"
log "Ctrl-C stops all forwards"
# Exit as soon as one forward dies, so a broken forward is not silently missing.
wait -n
die "a port-forward exited; see its message above"
