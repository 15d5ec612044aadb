#!/usr/bin/env bash
# Forwards Prometheus (9090), Grafana (3000), Alertmanager (9093) and the API
# (8080) to 127.0.0.1 until Ctrl-C. A service the cluster does not have (Grafana
# on scripts/node-up.sh's node) is skipped with a note.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
usage: scripts/port-forward.sh [--dry-run] [--name CLUSTER] [--context CTX] [--kubeconfig FILE] [--offset N] [--only LIST]
  --name CLUSTER     kind cluster (default: volwatch); uses context kind-CLUSTER
  --context CTX      kubeconfig context to use instead (scripts/node-up.sh's: volwatch-node)
  --kubeconfig FILE  kubeconfig file (default: \$KUBECONFIG, then ~/.kube/config)
  --offset N         add N to every local port (when 9090 and friends are taken)
  --only LIST        comma-separated subset of prometheus,grafana,alertmanager,api
  --dry-run          print the commands instead of running them
USAGE
}

CLUSTER=volwatch
CTX=''
KCFG=''
OFFSET=0
ONLY=prometheus,grafana,alertmanager,api
parse_args '--name=CLUSTER --context=CTX --kubeconfig=KCFG --offset=OFFSET --only=ONLY' "$@"
if ! [[ "$OFFSET" =~ ^[0-9]{1,5}$ ]] || ((OFFSET > 50000)); then
  die "--offset must be a whole number from 0 to 50000, got $OFFSET"
fi

need_tools kubectl
load_chart_env
[[ -n "$CTX" ]] || CTX="kind-$CLUSTER"
KUBECTL=(kubectl)
[[ -n "$KCFG" ]] && KUBECTL+=(--kubeconfig "$KCFG")
KUBECTL+=(--context "$CTX")
MON="$RELEASE_NAMESPACE"
# name  namespace  service  local:remote
forwards=(
  "prometheus $MON svc/$RELEASE_NAME-prometheus 9090:9090"
  "grafana $MON svc/$RELEASE_NAME-grafana 3000:80"
  "alertmanager $MON svc/$RELEASE_NAME-alertmanager 9093:9093"
  "api volwatch svc/volwatch-api 8080:8080"
)
for n in ${ONLY//,/ }; do
  [[ " prometheus grafana alertmanager api " == *" $n "* ]] || die "--only: unknown service '$n' (expected prometheus, grafana, alertmanager or api)"
done

pids=()
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

urls=()
for f in "${forwards[@]}"; do
  read -r name ns target ports <<<"$f"
  [[ ",$ONLY," == *",$name,"* ]] || continue
  ports="$((${ports%%:*} + OFFSET)):${ports#*:}"
  if is_dry_run; then
    printf '%s &\n' "$(print_cmd "${KUBECTL[@]}" -n "$ns" port-forward --address 127.0.0.1 "$target" "$ports")"
    continue
  fi
  if ! "${KUBECTL[@]}" -n "$ns" get "$target" >/dev/null 2>&1; then
    log "skipping $name: $ns/$target does not exist in this cluster"
    continue
  fi
  "${KUBECTL[@]}" -n "$ns" port-forward --address 127.0.0.1 "$target" "$ports" &
  pids+=("$!")
  urls+=("$name http://127.0.0.1:${ports%%:*}")
done
is_dry_run && exit 0
((${#pids[@]})) || die "none of the services to forward exist in context $CTX"

log "${urls[*]}"
log "Ctrl-C stops all forwards"
# Exit as soon as one forward dies, so a broken forward is not silently missing.
wait -n
die "a port-forward exited; see its message above"
