#!/usr/bin/env bash
# Runs every test of the project (the README's test command, `npm test`): first the set-up
# it needs (scripts/lib/setup.sh: the pinned Node, npm ci, Debian tools, Kafka jars, Go
# builds), then the type check, the lock-file check, jest against a real Kafka broker it
# starts itself, the suites that must run alone (broker restarts, the local stack on its
# fixed ports), then the Kubernetes API-server suite (scripts/test-k8s.sh), then the whole
# deployment on a real node of this machine (scripts/test-node.sh). Prints one closing line:
#   tests: N passed, N failed
#
#   scripts/test.sh [--dry-run]   (--dry-run prints the plan: set-up and steps, changes nothing)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
REPO_ROOT="$VOLWATCH_ROOT"
cd "$REPO_ROOT"

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
parse_args '' "$@"

setup_command test

RESULTS_DIR="$REPO_ROOT/.work/test-results"
run mkdir -p "$RESULTS_DIR"
run rm -f "$RESULTS_DIR"/*.json

status=0
step() {
  local name="$1"
  shift
  echo "== $name"
  if ! run "$@"; then
    echo "== $name FAILED" >&2
    status=1
  fi
}

step "type check" npx tsc -p tsconfig.json --noEmit
step "package-lock.json is complete" bash scripts/check-lock.sh

# The end-to-end suite's broker: ports of its own (see below).
E2E_KAFKA_ENV=(KAFKA_PORT="$((${KAFKA_PORT:-9092} + 10))" KAFKA_CONTROLLER_PORT="$((${KAFKA_PORT:-9092} + 11))" KAFKA_METRICS_PORT="$((${KAFKA_PORT:-9092} + 12))" KAFKA_WORK_DIR="$REPO_ROOT/.work/kafka-e2e")
NODE_SUITE_PID=""
E2E_PID=""
# On any exit: suites still running in the background (an interrupted run) are stopped with
# everything they started (each runs in a process group of its own), the node is taken down,
# and both brokers stop. Not in a dry run: that must leave a running broker alone.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in "$E2E_PID" "$NODE_SUITE_PID"; do
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null
  done
  wait 2>/dev/null || true
  if [[ -n "$NODE_SUITE_PID" && -z "${NODE_SUITE_DONE:-}" ]]; then bash scripts/node-down.sh >/dev/null 2>&1 || true; fi
  bash scripts/kafka-local.sh stop >/dev/null 2>&1 || true
  env "${E2E_KAFKA_ENV[@]}" bash scripts/kafka-local.sh stop >/dev/null 2>&1 || true
}
is_dry_run || trap cleanup EXIT

step "start kafka" bash scripts/kafka-local.sh start
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"

# *.restart.test.ts stop and start brokers and *.serial.test.ts use the fixed ports and
# topics of the local stack: both run alone, after the parallel suites.
step "jest" npx jest --ci --testPathIgnorePatterns '/node_modules/' '/test/k8s/' '/test/node/' '\.(restart|serial)\.test\.ts$' --json --outputFile "$RESULTS_DIR/main.json"
# The node suite (a real Kubernetes node, kube-prometheus-stack and manifests/ on it, the
# cluster smoke test) spends most of its time waiting (pods starting, an alert's `for:`), so it
# runs beside the remaining suites instead of after them: it shares no port, no broker and no
# directory with them, and waits for its builds on their locks.
NODE_SUITE_LOG="$REPO_ROOT/.work/node-suite.log"
if is_dry_run; then
  print_cmd bash scripts/test-node.sh --json --outputFile "$RESULTS_DIR/node.json"
  printf '  (in the background, log: %s)\n' "$NODE_SUITE_LOG"
else
  echo "== kubernetes node suite (in the background, log: $NODE_SUITE_LOG)"
  setsid bash scripts/test-node.sh --json --outputFile "$RESULTS_DIR/node.json" >"$NODE_SUITE_LOG" 2>&1 &
  NODE_SUITE_PID=$!
fi
# The end-to-end alert proof (test/e2e): real faults watched by Prometheus and Alertmanager. It
# mostly waits (alerts' `for:`, drift windows), so it runs beside the serial suites, on a broker
# of its own: it recreates the local stack's topics and its broker-side stall alert counts every
# group's offset commits. Its services and monitoring take free ports.
E2E_LOG="$REPO_ROOT/.work/e2e-suite.log"
echo "== start the end-to-end suite's kafka"
e2e_broker=1
if ! run env "${E2E_KAFKA_ENV[@]}" bash scripts/kafka-local.sh start; then
  echo "== start the end-to-end suite's kafka FAILED (end-to-end alerts not run)" >&2
  status=1
  e2e_broker=0
fi
if is_dry_run; then
  print_cmd env "${E2E_KAFKA_ENV[@]}" KAFKA_BROKERS="127.0.0.1:$((${KAFKA_PORT:-9092} + 10))" npx jest --ci --config test/e2e/jest.config.js --runInBand --json --outputFile "$RESULTS_DIR/e2e.json"
  printf '  (in the background, log: %s)\n' "$E2E_LOG"
elif ((e2e_broker)); then
  echo "== end-to-end alerts (in the background, log: $E2E_LOG)"
  env "${E2E_KAFKA_ENV[@]}" KAFKA_BROKERS="127.0.0.1:$((${KAFKA_PORT:-9092} + 10))" \
    setsid npx jest --ci --config test/e2e/jest.config.js --runInBand --json --outputFile "$RESULTS_DIR/e2e.json" >"$E2E_LOG" 2>&1 &
  E2E_PID=$!
fi
step "jest (serial: broker restart, local stack)" npx jest --ci --runInBand --testPathPatterns '\.(restart|serial)\.test\.ts$' --json --outputFile "$RESULTS_DIR/serial.json"
if [[ -n "$E2E_PID" ]]; then
  echo "== end-to-end alerts (waiting for it)"
  e2e_rc=0
  wait "$E2E_PID" || e2e_rc=$?
  cat "$E2E_LOG"
  if ((e2e_rc)); then
    echo "== end-to-end alerts FAILED" >&2
    status=1
  fi
fi
step "kafka stop" bash scripts/kafka-local.sh stop
step "the end-to-end suite's kafka stop" env "${E2E_KAFKA_ENV[@]}" bash scripts/kafka-local.sh stop
setup_wait_background || status=1
step "kubernetes API server suite" bash scripts/test-k8s.sh --json --outputFile "$RESULTS_DIR/k8s.json"
if [[ -n "$NODE_SUITE_PID" ]]; then
  echo "== kubernetes node suite (waiting for it)"
  node_rc=0
  wait "$NODE_SUITE_PID" || node_rc=$?
  NODE_SUITE_DONE=1
  cat "$NODE_SUITE_LOG"
  if ((node_rc)); then
    echo "== kubernetes node suite FAILED" >&2
    status=1
  fi
fi

is_dry_run && exit 0
node scripts/test-summary.js "$RESULTS_DIR"
exit "$status"
