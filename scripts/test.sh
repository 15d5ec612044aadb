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

NODE_SUITE_PID=""
# On any exit: the node suite, if still running in the background (an interrupted run), is
# stopped with everything it started (it runs in a process group of its own) and the node taken
# down; the broker stops. Not in a dry run: that must leave a running broker alone.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n "$NODE_SUITE_PID" && -z "${NODE_SUITE_DONE:-}" ]]; then
    kill -TERM -- "-$NODE_SUITE_PID" 2>/dev/null || true
    wait "$NODE_SUITE_PID" 2>/dev/null || true
    bash scripts/node-down.sh >/dev/null 2>&1 || true
  fi
  bash scripts/kafka-local.sh stop >/dev/null 2>&1 || true
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
# directory with them, and waits for its builds on their locks. Niced, so the timing-sensitive
# suites beside it (broker outages, the e2e's alerts and drift windows) get the CPU first; the
# node's containerd, kubelet and pods inherit it.
NODE_SUITE_LOG="$REPO_ROOT/.work/node-suite.log"
if is_dry_run; then
  print_cmd nice -n 10 bash scripts/test-node.sh --json --outputFile "$RESULTS_DIR/node.json"
  printf '  (in the background, log: %s)\n' "$NODE_SUITE_LOG"
else
  echo "== kubernetes node suite (in the background, log: $NODE_SUITE_LOG)"
  setsid nice -n 10 bash scripts/test-node.sh --json --outputFile "$RESULTS_DIR/node.json" >"$NODE_SUITE_LOG" 2>&1 &
  NODE_SUITE_PID=$!
fi
step "jest (serial: broker restart, local stack)" npx jest --ci --runInBand --testPathPatterns '\.(restart|serial)\.test\.ts$' --json --outputFile "$RESULTS_DIR/serial.json"
# The end-to-end alert proof (test/e2e): real faults watched by Prometheus and Alertmanager on
# this broker; alone, since it recreates the local stack's topics, its broker-side stall alert
# counts every group's offset commits, and its drift case needs its processes to keep pace
# (beside the serial suites, on a loaded machine, the API's windows read as drifted).
step "end-to-end alerts" npx jest --ci --config test/e2e/jest.config.js --runInBand --json --outputFile "$RESULTS_DIR/e2e.json"
step "kafka stop" bash scripts/kafka-local.sh stop
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
