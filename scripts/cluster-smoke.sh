#!/usr/bin/env bash
# End-to-end check of a running volwatch deployment, through real endpoints:
#  1. Prometheus has both ServiceMonitor targets up (API and consumer);
#  2. Prometheus has loaded every rule group of manifests/;
#  3. POST /predict answers 200 with a prediction;
#  4. ticks written to Kafka turn into messages on the predictions topic.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
usage: scripts/cluster-smoke.sh [--dry-run] [--name CLUSTER] [--timeout SECONDS]
  --name CLUSTER     kind cluster (default: volwatch); uses context kind-CLUSTER
  --timeout SECONDS  how long each check may wait (default: 240)
  --dry-run          print the commands instead of running them
USAGE
}

CLUSTER=volwatch
TIMEOUT=240
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --name | --timeout)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      if [[ "$1" == --name ]]; then CLUSTER=$2; else TIMEOUT=$2; fi
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
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds, got $TIMEOUT"

need_tools kubectl curl node
load_chart_env
CTX="kind-$CLUSTER"
NS=volwatch
PROM_PORT=${SMOKE_PROM_PORT:-19090}
API_PORT=${SMOKE_API_PORT:-18080}
PROM="http://127.0.0.1:$PROM_PORT"
API="http://127.0.0.1:$API_PORT"
NODE_TSX="$VOLWATCH_ROOT/node_modules/.bin/tsx"
KEYED=(--property parse.key=true --property 'key.separator=|')
KAFKA_TOOL=(kubectl --context "$CTX" -n "$NS" exec -i kafka-0 -- env KAFKA_HEAP_OPTS=-Xmx96m)
WORK=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

forward() { # NAMESPACE TARGET LOCAL:REMOTE
  if is_dry_run; then
    printf '%s &\n' "$(print_cmd kubectl --context "$CTX" -n "$1" port-forward --address 127.0.0.1 "$2" "$3")"
  else
    kubectl --context "$CTX" -n "$1" port-forward --address 127.0.0.1 "$2" "$3" >"$WORK/pf-${3%%:*}.log" 2>&1 &
    pids+=("$!")
  fi
}

# retry SECONDS DESCRIPTION CMD...: runs CMD every 5 s until it succeeds.
retry() {
  local deadline=$((SECONDS + $1)) what=$2 limit=$1
  shift 2
  if is_dry_run; then
    if declare -F "$1" >/dev/null; then "$@"; else print_cmd "$@"; fi
    printf '  # repeated every 5 s for up to %s s until: %s\n' "$limit" "$what"
    return 0
  fi
  until "$@"; do
    ((SECONDS < deadline)) || die "timed out after $TIMEOUT s: $what"
    sleep 5
  done
}

# Group names the cluster must have loaded, from the synthesized PrometheusRules.
expected_groups() {
  node -e '
    const yaml = require(process.argv[1] + "/node_modules/yaml");
    const fs = require("fs"), path = require("path");
    const dir = path.join(process.argv[1], "manifests");
    const names = [];
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort())
      for (const d of yaml.parseAllDocuments(fs.readFileSync(path.join(dir, f), "utf8")))
        { const o = d.toJS(); if (o && o.kind === "PrometheusRule") for (const g of o.spec.groups) names.push(g.name); }
    console.log(names.join(" "));' "$VOLWATCH_ROOT"
}

targets_up() { # JOB...
  if is_dry_run; then
    print_cmd curl -fsS "$PROM/api/v1/targets?state=active"
    printf '  # every job of %s must have a target with health "up"\n' "$*"
    return 0
  fi
  curl -fsS "$PROM/api/v1/targets?state=active" >"$WORK/targets.json" || return 1
  node -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).data.activeTargets;
    const missing = process.argv.slice(2).filter((j) => !t.some((x) => x.labels.job === j && x.labels.namespace === "volwatch" && x.health === "up"));
    if (missing.length) { console.error("  targets not up yet: " + missing.join(", ")); process.exit(1); }' "$WORK/targets.json" "$@"
}

rules_loaded() { # GROUP...
  if is_dry_run; then
    print_cmd curl -fsS "$PROM/api/v1/rules"
    printf '  # groups %s must be loaded\n' "$*"
    return 0
  fi
  curl -fsS "$PROM/api/v1/rules" >"$WORK/rules.json" || return 1
  node -e '
    const g = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).data.groups.map((x) => x.name);
    const missing = process.argv.slice(2).filter((n) => !g.includes(n));
    if (missing.length) { console.error("  rule groups not loaded yet: " + missing.join(", ")); process.exit(1); }' "$WORK/rules.json" "$@"
}

predict_ok() {
  local code
  if is_dry_run; then
    print_cmd curl -sS -H 'content-type: application/json' --data-binary "@$WORK/body.json" "$API/predict"
    printf '  # must answer 200\n'
    return 0
  fi
  code=$(curl -sS -o "$WORK/predict.json" -w '%{http_code}' -H 'content-type: application/json' \
    --data-binary "@$WORK/body.json" "$API/predict") || return 1
  [[ "$code" == 200 ]] || {
    printf '  POST /predict answered %s: %s\n' "$code" "$(head -c 300 "$WORK/predict.json")" >&2
    return 1
  }
}

predictions_offset() {
  "${KAFKA_TOOL[@]}" /opt/kafka/bin/kafka-get-offsets.sh --bootstrap-server localhost:9092 --topic predictions 2>/dev/null |
    awk -F: '{ s += $3 } END { print s + 0 }'
}

predictions_grew() { # BEFORE
  local now
  if is_dry_run; then
    print_cmd "${KAFKA_TOOL[@]}" /opt/kafka/bin/kafka-get-offsets.sh --bootstrap-server localhost:9092 --topic predictions
    printf '  # summed end offsets must exceed the value before the ticks were sent\n'
    return 0
  fi
  now=$(predictions_offset) || return 1
  ((now > $1)) || {
    printf '  predictions topic end offset still %s\n' "$now" >&2
    return 1
  }
}

log "port-forwards to Prometheus and the API"
forward "$RELEASE_NAMESPACE" "svc/$RELEASE_NAME-prometheus" "$PROM_PORT:9090"
forward "$NS" svc/volwatch-api "$API_PORT:8080"
retry 30 "port-forward to Prometheus" curl -fsS -o /dev/null "$PROM/-/ready"
retry 30 "port-forward to the API" curl -fsS -o /dev/null "$API/health"

log "1/4 ServiceMonitor targets up: volwatch-api, volwatch-consumer"
retry "$TIMEOUT" "ServiceMonitor targets up" targets_up volwatch-api volwatch-consumer

groups=$(expected_groups)
[[ -n "$groups" ]] || die "no PrometheusRule groups in manifests/: run npm run synth"
log "2/4 rule groups loaded: $groups"
# shellcheck disable=SC2086 # one argument per group name
retry "$TIMEOUT" "rule groups loaded" rules_loaded $groups

log "3/4 POST /predict"
body_js='import { FEATURE_NAMES } from "./services/core/features"; process.stdout.write(JSON.stringify({ features: Object.fromEntries(FEATURE_NAMES.map((n) => [n, 0.01])) }));'
if is_dry_run; then
  printf '%s > %s\n' "$(print_cmd "$NODE_TSX" -e "$body_js")" "$WORK/body.json"
else
  (cd "$VOLWATCH_ROOT" && "$NODE_TSX" -e "$body_js") >"$WORK/body.json"
fi
retry 60 "POST /predict answers 200" predict_ok
is_dry_run || log "prediction: $(head -c 300 "$WORK/predict.json")"

log "4/4 ticks flow to predictions"
if ! is_dry_run && ! kubectl --context "$CTX" -n "$NS" get statefulset kafka >/dev/null 2>&1; then
  log "skipped: no in-cluster Kafka (external bootstrap); check your Kafka's predictions topic instead"
  exit 0
fi
before=0
if is_dry_run; then
  print_cmd "${KAFKA_TOOL[@]}" /opt/kafka/bin/kafka-get-offsets.sh --bootstrap-server localhost:9092 --topic predictions
else
  before=$(predictions_offset)
fi
# 150 one-second ticks ending now (enough history for every feature window), keyed by
# product like the producer does, so they stay in order within one partition.
gen_ticks='const now = Date.now(); let p = 60000;
for (let i = 150; i > 0; i--) { p *= 1 + (Math.random() - 0.5) * 0.001;
  console.log("BTC-USD|" + JSON.stringify({ product_id: "BTC-USD", price: p.toFixed(2), best_bid: (p - 0.5).toFixed(2), best_ask: (p + 0.5).toFixed(2),
    last_size: "0.01", time: new Date(now - i * 1000).toISOString(), sequence: 1e9 + 150 - i })); }'
if is_dry_run; then
  printf "+ node -e '<150 one-second ticks as JSON lines>' | %s\n" \
    "$(print_cmd "${KAFKA_TOOL[@]}" /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server localhost:9092 --topic ticks "${KEYED[@]}" | cut -c3-)"
else
  node -e "$gen_ticks" | "${KAFKA_TOOL[@]}" /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server localhost:9092 --topic ticks "${KEYED[@]}"
fi
retry "$TIMEOUT" "a prediction on the predictions topic" predictions_grew "$before"

if is_dry_run; then log "dry run complete"; else log "smoke test passed"; fi
