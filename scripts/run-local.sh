#!/usr/bin/env bash
# `npm start`: the whole system on one machine — a Kafka broker (with its JMX exporter), the
# prediction API with a small steady load, the stream consumer, a producer streaming simulated
# ticks at the simulated market's own pace (default; the distribution the model was trained
# on, so the drift alerts stay quiet), and Prometheus 3.14 and Alertmanager 0.34 (Go-module
# builds) running the same rules as the cluster, alerts logged to .work/local/alerts.log.
# It first installs what it needs (scripts/lib/setup.sh, needs_start).
# Ctrl-C stops everything. Logs and state live in .work/local/.
#
#   scripts/run-local.sh [--dry-run] [--rate natural|TICKS_PER_SECOND]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
cd "$VOLWATCH_ROOT"

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
RATE=natural
parse_args '--rate=RATE' "$@"
[[ "$RATE" == natural || ("$RATE" =~ ^[0-9]+$ && "$RATE" -gt 0) ]] || die "--rate needs \"natural\" or a positive whole number of ticks per second"

setup_command start
WORK="$VOLWATCH_ROOT/.work/local"
VARIANT_FILE="$WORK/model-variant"
PIDS=()
STARTED_KAFKA=0

start_bg() {
  local name="$1"
  shift
  if is_dry_run; then
    print_cmd "$@"
    printf '  (in the background, log: %s)\n' "$WORK/$name.log"
    return
  fi
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  log "$name started (pid $!, log .work/local/$name.log)"
}

# shellcheck disable=SC2317 # invoked through trap
cleanup() {
  trap - INT TERM EXIT
  if ((${#PIDS[@]})); then
    log "stopping"
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
  # Only stop a broker this script started: a developer's own broker keeps running.
  ((STARTED_KAFKA)) && { bash scripts/kafka-local.sh stop || true; }
  return 0
}

wait_http() {
  local url="$1" i
  is_dry_run && return 0
  for ((i = 0; i < 100; i++)); do
    node -e "fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$url" && return 0
    sleep 0.3
  done
  die "$url did not answer; see the logs in .work/local/"
}

run mkdir -p "$WORK"
is_dry_run || [[ -f "$VARIANT_FILE" ]] || echo ml >"$VARIANT_FILE"
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

STARTED_KAFKA=0
if is_dry_run || ! bash scripts/kafka-local.sh status >/dev/null 2>&1; then
  run bash scripts/kafka-local.sh start
  is_dry_run || STARTED_KAFKA=1
fi
export KAFKA_BROKERS=127.0.0.1:${KAFKA_PORT:-9092}
run node --import tsx scripts/local/create-topics.ts

export MODEL_VARIANT_FILE="$VARIANT_FILE"
start_bg api node --import tsx services/api/main.ts
start_bg consumer node --import tsx services/consumer/main.ts
wait_http http://127.0.0.1:8080/ready
wait_http http://127.0.0.1:9465/ready
start_bg producer node --import tsx services/producer/main.ts --rate "$RATE"
start_bg load node --import tsx scripts/local/load.ts --rate 4

# Prometheus and Alertmanager: configuration generated from the cluster's ServiceMonitors,
# PrometheusRules and Alertmanager route tree (scripts/local/monitoring-config.ts). On a cold
# machine they are built first (minutes); everything else runs meanwhile.
KAFKA_METRICS_PORT="${KAFKA_METRICS_PORT:-$((${KAFKA_PORT:-9092} + 2))}"
MON="$WORK/monitoring"
run node --import tsx scripts/local/monitoring-config.ts "$MON" --kafka-metrics-port "$KAFKA_METRICS_PORT" \
  --alertmanager 127.0.0.1:9095 --alert-webhook http://127.0.0.1:9096/alerts
start_bg alert-log node --import tsx scripts/local/alert-log.ts --port 9096 --file "$WORK/alerts.log"
for tool in prometheus alertmanager; do
  is_dry_run || bash scripts/monitoring-tools.sh built "$tool" ||
    log "$tool is not built yet: building it from the Go module proxy (first run only, a few minutes); it joins when done"
done
# exec: the signal that stops the stack reaches the server itself.
# shellcheck disable=SC2016 # expanded by the inner shell, after the build
start_bg prometheus nice -n 5 bash -c 'exec "$(bash scripts/monitoring-tools.sh path prometheus)" "$@"' prometheus \
  --config.file="$MON/prometheus.yml" --storage.tsdb.path="$MON/prometheus-data" --storage.tsdb.retention.time=2d \
  --web.listen-address=127.0.0.1:9090 --web.enable-lifecycle
# shellcheck disable=SC2016
start_bg alertmanager nice -n 5 bash -c 'exec "$(bash scripts/monitoring-tools.sh path alertmanager)" "$@"' alertmanager \
  --config.file="$MON/alertmanager.yml" --storage.path="$MON/alertmanager-data" \
  --web.listen-address=127.0.0.1:9095 --cluster.listen-address=


cat >&2 <<MSG

volwatch is running:
  API          http://127.0.0.1:8080   (curl -s localhost:8080/version; POST /predict, see docs/api.md)
  API metrics  http://127.0.0.1:9464/metrics
  consumer     http://127.0.0.1:9465/metrics   (predictions go to the 'predictions' topic)
  broker       http://127.0.0.1:$KAFKA_METRICS_PORT/metrics   (JMX exporter)
  Prometheus   http://127.0.0.1:9090   (HTTP API; the web UI is not in the Go-module build:
               see the dashboard pictures in docs/img/ and npm run dashboards:render)
  Alertmanager http://127.0.0.1:9095/api/v2/alerts   (notifications: .work/local/alerts.log)
  Try:  curl -s 'http://127.0.0.1:9090/api/v1/query' --data-urlencode 'query=ALERTS{alertstate="firing"}'
        query=sum by (route, status) (rate(http_requests_total[1m]))
        query=slo:sli_error:ratio_rate5m          query=volwatch:consumer_offset_lag:sum
        query=sum by (topic) (rate(kafka_server_topic_messages_in_total[1m]))
  Roll back without a restart:  echo baseline > .work/local/model-variant
Ctrl-C stops everything.
MSG
is_dry_run && exit 0
wait -n "${PIDS[@]}" || true
die "a component exited; see the logs in .work/local/"
