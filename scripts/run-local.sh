#!/usr/bin/env bash
# `npm start`: the whole system on one machine — a Kafka broker, the prediction API,
# the stream consumer, a producer streaming simulated ticks and, when Debian's
# `prometheus` is installed, a Prometheus scraping both services with our rules.
# It first installs what it needs (scripts/lib/setup.sh, needs_start).
# Ctrl-C stops everything. Logs and state live in .work/local/.
#
#   scripts/run-local.sh [--dry-run] [--rate TICKS_PER_SECOND]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
cd "$VOLWATCH_ROOT"

usage() { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
RATE=50
parse_args '--rate=RATE' "$@"
[[ "$RATE" =~ ^[0-9]+$ && "$RATE" -gt 0 ]] || die "--rate needs a positive whole number of ticks per second"

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

if command -v prometheus >/dev/null 2>&1 || is_dry_run; then
  run node --import tsx scripts/local/prometheus-rules.ts manifests "$WORK/rules.yml"
  if ! is_dry_run; then
    cat >"$WORK/prometheus.yml" <<YAML
global: { scrape_interval: 5s, evaluation_interval: 5s }
rule_files: [rules.yml]
scrape_configs:
  - job_name: volwatch-api
    static_configs: [{ targets: ['127.0.0.1:9464'], labels: { namespace: volwatch, service: volwatch-api } }]
  - job_name: volwatch-consumer
    static_configs: [{ targets: ['127.0.0.1:9465'], labels: { namespace: volwatch, service: volwatch-consumer } }]
YAML
  fi
  start_bg prometheus prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" --web.listen-address=127.0.0.1:9090
else
  warn "prometheus is not installed (apt-get install prometheus): running without it"
fi

cat >&2 <<MSG

volwatch is running:
  API          http://127.0.0.1:8080   (curl -s localhost:8080/version; POST /predict, see docs/api.md)
  API metrics  http://127.0.0.1:9464/metrics
  consumer     http://127.0.0.1:9465/metrics   (predictions go to the 'predictions' topic)
  Prometheus   http://127.0.0.1:9090   (if installed)
  Roll back without a restart:  echo baseline > .work/local/model-variant
Ctrl-C stops everything.
MSG
is_dry_run && exit 0
wait -n "${PIDS[@]}" || true
die "a component exited; see the logs in .work/local/"
