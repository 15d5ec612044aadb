#!/usr/bin/env bash
# Runs every test of the project (the README's test command, `npm test`):
# type check, then jest against a real Kafka broker it starts itself, then the suites
# that must run alone (broker restarts, the local stack on its fixed ports), then the
# Kubernetes API-server suite (scripts/test-k8s.sh). Prints one closing line:
#   tests: N passed, N failed
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) echo "Usage: scripts/test.sh [--dry-run]   (runs all tests; see README)"; exit 0 ;;
    *) echo "test: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

missing=()
for tool in node npx java mvn go openssl promtool shellcheck; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  msg="test: missing tools: ${missing[*]} (.ci/run installs them; see README 'Requirements')"
  if ((DRY_RUN)); then echo "warning: $msg" >&2; else echo "$msg" >&2; exit 1; fi
fi

run() {
  if ((DRY_RUN)); then printf '+ %s\n' "$*"; else "$@"; fi
}

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

# The first build of etcd + kube-apiserver takes minutes (cached afterwards): start it now,
# at low priority, so it overlaps the jest suites instead of adding to them.
BUILD_LOG="$REPO_ROOT/.work/k8s-build.log"
BUILD_PID=""
if ((DRY_RUN)); then
  printf '+ nice -n 19 bash scripts/control-plane.sh build   (in the background)\n'
else
  nice -n 19 bash scripts/control-plane.sh build >"$BUILD_LOG" 2>&1 &
  BUILD_PID=$!
fi

step "type check" npx tsc -p tsconfig.json --noEmit

step "start kafka" bash scripts/kafka-local.sh start
# Not in a dry run: that must leave a running broker (say, the one a test run uses) alone.
((DRY_RUN)) || trap 'bash scripts/kafka-local.sh stop >/dev/null 2>&1 || true' EXIT
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"

# *.restart.test.ts stop and start brokers and *.serial.test.ts use the fixed ports and
# topics of the local stack: both run alone, after the parallel suites.
step "jest" npx jest --ci --testPathIgnorePatterns '/node_modules/' '/test/k8s/' '\.(restart|serial)\.test\.ts$' --json --outputFile "$RESULTS_DIR/main.json"
step "jest (serial: broker restart, local stack)" npx jest --ci --runInBand --testPathPatterns '\.(restart|serial)\.test\.ts$' --json --outputFile "$RESULTS_DIR/serial.json"
step "kafka stop" bash scripts/kafka-local.sh stop
if [[ -n "$BUILD_PID" ]] && ! wait "$BUILD_PID"; then
  echo "== control-plane build FAILED; its log:" >&2
  cat "$BUILD_LOG" >&2
  status=1
fi
step "kubernetes API server suite" bash scripts/test-k8s.sh --json --outputFile "$RESULTS_DIR/k8s.json"

if ((DRY_RUN)); then exit 0; fi
node scripts/test-summary.js "$RESULTS_DIR"
exit "$status"
