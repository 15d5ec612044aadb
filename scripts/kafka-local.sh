#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker (KRaft, combined broker+controller)
# on 127.0.0.1 for local development and tests. The Kafka jars come from Maven
# Central via scripts/kafka/pom.xml; the version is pinned in scripts/kafka/VERSION.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/kafka-local.sh [--dry-run] <start|stop|restart|status|fetch>

  start     resolve the Kafka jars (first run only), format storage (first run
            only), start the broker and wait until it serves clients; prints
            KAFKA_BROKERS=127.0.0.1:<port>. Exits 0 if it is already running.
  stop      stop the broker (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT s).
  restart   stop, then start with the same data directory.
  status    exit 0 when the broker accepts connections, 3 when it does not.
  fetch     only resolve the Kafka jars into the cache (what start does first) and
            print their directory (scripts/node-images.sh builds the cluster's Kafka image from it).
  --dry-run print the commands that would run, change nothing.

Environment:
  KAFKA_PORT             client port (default 9092)
  KAFKA_CONTROLLER_PORT  KRaft controller port (default 9093)
  KAFKA_METRICS_PORT     the broker's Prometheus JMX exporter, http://127.0.0.1:<port>/metrics
                         (default KAFKA_PORT + 2, so 9094)
  KAFKA_WORK_DIR         data, config and logs (default <repo>/.work/kafka)
  KAFKA_CACHE_DIR        resolved jars (default ~/.cache/volwatch/kafka)
  KAFKA_HEAP_OPTS        JVM heap flags (default "-Xms256m -Xmx512m")
  KAFKA_START_TIMEOUT    seconds to wait for readiness (default 90)
  KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM (default 10)
  JAVA_HOME              Java 17+ installation to use instead of java on PATH
EOF
}

die() {
  printf 'kafka-local: %s\n' "$*" >&2
  exit 1
}

info() {
  printf 'kafka-local: %s\n' "$*" >&2
}

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
KAFKA_DIR="$SCRIPT_DIR/kafka"

DRY_RUN=0
COMMAND=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    start | stop | restart | status | fetch)
      [[ -z "$COMMAND" ]] || die "only one command may be given (got '$COMMAND' and '$arg')"
      COMMAND="$arg"
      ;;
    *) die "unknown argument '$arg' (run with --help for usage)" ;;
  esac
done
[[ -n "$COMMAND" ]] || die "missing command: expected start, stop, restart, status or fetch (run with --help for usage)"

KAFKA_VERSION="$(tr -d '[:space:]' <"$KAFKA_DIR/VERSION")"
[[ "$KAFKA_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "scripts/kafka/VERSION must hold a version like 3.9.2, got '$KAFKA_VERSION'"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_METRICS_PORT="${KAFKA_METRICS_PORT:-$((${KAFKA_PORT//[!0-9]/0} + 2))}"
WORK_DIR="${KAFKA_WORK_DIR:-$REPO_ROOT/.work/kafka}"
CACHE_DIR="${KAFKA_CACHE_DIR:-$HOME/.cache/volwatch/kafka}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-10}"

check_port() {
  local name="$1" value="$2"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
    die "$name must be a port number between 1 and 65535, got '$value'"
  fi
}
check_port KAFKA_PORT "$KAFKA_PORT"
check_port KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
check_port KAFKA_METRICS_PORT "$KAFKA_METRICS_PORT"
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both are $KAFKA_PORT)"
[[ "$KAFKA_METRICS_PORT" != "$KAFKA_PORT" && "$KAFKA_METRICS_PORT" != "$KAFKA_CONTROLLER_PORT" ]] ||
  die "KAFKA_METRICS_PORT ($KAFKA_METRICS_PORT) must differ from KAFKA_PORT and KAFKA_CONTROLLER_PORT"
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be a whole number of seconds, got '$START_TIMEOUT'"
[[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_STOP_TIMEOUT must be a whole number of seconds, got '$STOP_TIMEOUT'"
[[ "$WORK_DIR" == /* ]] || WORK_DIR="$PWD/$WORK_DIR"

# The jar cache is keyed by the pom's content so editing it re-resolves.
POM="$KAFKA_DIR/pom.xml"
POM_HASH="$(sha256sum "$POM" | cut -c1-12)"
LIBS_DIR="$CACHE_DIR/$KAFKA_VERSION-$POM_HASH/libs"
# The JMX exporter agent sits beside the classpath jars, not among them.
AGENT_DIR="$LIBS_DIR/agent"
JMX_CONFIG="$KAFKA_DIR/jmx-exporter.yaml"
CONFIG_DIR="$WORK_DIR/config"
DATA_DIR="$WORK_DIR/data"
LOG_DIR="$WORK_DIR/logs"
PID_FILE="$WORK_DIR/kafka.pid"
SERVER_PROPERTIES="$CONFIG_DIR/server.properties"
SERVER_OUT="$LOG_DIR/server.out"
BROKERS="127.0.0.1:$KAFKA_PORT"

# Print a command (shell-quoted) in dry-run mode, run it otherwise.
run() {
  if ((DRY_RUN)); then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@" >&2
  fi
}

JAVA=""
find_java() {
  if [[ -n "${JAVA_HOME:-}" ]]; then
    JAVA="$JAVA_HOME/bin/java"
    [[ -x "$JAVA" ]] || die "JAVA_HOME is set to '$JAVA_HOME' but $JAVA is not an executable; point JAVA_HOME at a Java 17+ installation or unset it"
  else
    JAVA="$(command -v java || true)"
    [[ -n "$JAVA" ]] || die "java is not installed (or not on PATH): Kafka needs a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
  fi
  local line version major
  line="$("$JAVA" -version 2>&1 | head -n 1)" || true
  version="$(sed -n 's/.*version "\([^"]*\)".*/\1/p' <<<"$line")"
  [[ -n "$version" ]] || die "could not read the Java version from '$JAVA -version' (got: $line)"
  major="${version%%.*}"
  if [[ "$major" == 1 ]]; then
    major="$(cut -d. -f2 <<<"$version")"
  fi
  major="${major%%[!0-9]*}"
  if [[ -z "$major" ]] || ((major < 17)); then
    die "Java $version found at $JAVA, but Kafka $KAFKA_VERSION here needs Java 17 or newer; install openjdk-17-jre-headless or set JAVA_HOME"
  fi
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 ||
    die "mvn is not installed (or not on PATH): it is needed once to download the Kafka jars from Maven Central (Debian: apt-get install maven)"
}

is_our_broker() {
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *kafka.Kafka*"$SERVER_PROPERTIES"* ]]
}

# Pid of our broker if it is alive, empty otherwise. The command line must name
# our config file, so a recycled pid or another Kafka is never mistaken for ours.
# The pid file is only a hint: a broker whose pid file was lost is found in /proc.
broker_pid() {
  local pid="" dir file
  [[ -f "$PID_FILE" ]] && pid="$(tr -dc '0-9' <"$PID_FILE")"
  if [[ -n "$pid" ]] && is_our_broker "$pid"; then
    printf '%s\n' "$pid"
    return 0
  fi
  while IFS= read -r file; do
    dir="${file%/cmdline}"
    if is_our_broker "${dir#/proc/}"; then
      printf '%s\n' "${dir#/proc/}"
      return 0
    fi
  done < <(grep -lsF -e "$SERVER_PROPERTIES" /proc/[0-9]*/cmdline || true)
}

# True while the process exists and is not a zombie (an orphaned broker may be
# left unreaped by a minimal init).
pid_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

port_open() {
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

broker_ready() {
  port_open "$KAFKA_PORT" && [[ -f "$SERVER_OUT" ]] && grep -q 'Kafka Server started' "$SERVER_OUT"
}

log_tail() {
  local f
  for f in "$SERVER_OUT" "$LOG_DIR/server.log"; do
    if [[ -s "$f" ]]; then
      printf -- '--- last lines of %s ---\n' "$f" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

ensure_libs() {
  if [[ -f "$LIBS_DIR/.complete" ]]; then
    return 0
  fi
  require_mvn
  info "resolving Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR"
  local staging="$LIBS_DIR.tmp" mvn_log="$LIBS_DIR.mvn.log"
  local mvn_cmd=(mvn -q -B -Dstyle.color=never -f "$POM" "-Dkafka.version=$KAFKA_VERSION"
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies)
  run rm -rf "$staging"
  local scope
  for scope in "-DincludeScope=runtime -DoutputDirectory=$staging" "-DincludeScope=provided -DoutputDirectory=$staging/agent"; do
    # shellcheck disable=SC2086 # two -D flags per scope
    if ((DRY_RUN)); then
      run "${mvn_cmd[@]}" $scope
    else
      mkdir -p "$(dirname "$LIBS_DIR")"
      if ! "${mvn_cmd[@]}" $scope >>"$mvn_log" 2>&1; then
        tail -n 30 "$mvn_log" >&2
        die "mvn could not resolve the Kafka $KAFKA_VERSION jars (output above, full log in $mvn_log); Maven Central must be reachable on the first start"
      fi
    fi
  done
  run rm -rf "$LIBS_DIR"
  run mv "$staging" "$LIBS_DIR"
  run touch "$LIBS_DIR/.complete"
}

write_config() {
  run mkdir -p "$CONFIG_DIR" "$DATA_DIR" "$LOG_DIR"
  if ((DRY_RUN)); then
    printf '+ render %q -> %q\n' "$KAFKA_DIR/server.properties.template" "$SERVER_PROPERTIES"
    return 0
  fi
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$DATA_DIR|g" \
    "$KAFKA_DIR/server.properties.template" >"$SERVER_PROPERTIES"
}

# Same format as org.apache.kafka.common.Uuid: 16 random bytes, URL-safe base64
# without padding; ids starting with '-' are avoided as Kafka does.
# The agent's version, from the pom (the one place it is pinned for the local broker).
agent_version() {
  sed -n '/<artifactId>jmx_prometheus_javaagent<\/artifactId>/{n;s/.*<version>\(.*\)<\/version>.*/\1/p;}' "$POM"
}

new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" == -* ]] || break
  done
  printf '%s\n' "$id"
}

java_opts() {
  # shellcheck disable=SC2206 # heap flags are meant to word-split
  local heap=($HEAP_OPTS)
  JAVA_OPTS=("${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties" "-Dkafka.logs.dir=$LOG_DIR"
    -cp "$LIBS_DIR/*")
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  local id
  id="$(new_cluster_id)"
  info "formatting storage in $DATA_DIR (cluster id $id)"
  java_opts
  if ((DRY_RUN)); then
    run "$JAVA" "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --ignore-formatted \
      -t "$id" -c "$SERVER_PROPERTIES"
  else
    "$JAVA" "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --ignore-formatted \
      -t "$id" -c "$SERVER_PROPERTIES" >"$LOG_DIR/format.log" 2>&1 ||
      { tail -n 20 "$LOG_DIR/format.log" >&2; die "formatting the storage in $DATA_DIR failed (see $LOG_DIR/format.log)"; }
  fi
}

launch() {
  java_opts
  # The broker only (not the storage tool): the exporter serves the broker's MBeans.
  local agent=("-javaagent:$AGENT_DIR/jmx_prometheus_javaagent-$(agent_version).jar=127.0.0.1:$KAFKA_METRICS_PORT:$JMX_CONFIG")
  if ((DRY_RUN)); then
    printf '+ nohup'
    printf ' %q' "$JAVA" "${agent[@]}" "${JAVA_OPTS[@]}" kafka.Kafka "$SERVER_PROPERTIES"
    printf ' >%q 2>&1 &\n' "$SERVER_OUT"
    return 0
  fi
  # fd 9 is the start/stop lock; the broker must not inherit it.
  nohup "$JAVA" "${agent[@]}" "${JAVA_OPTS[@]}" kafka.Kafka "$SERVER_PROPERTIES" </dev/null >"$SERVER_OUT" 2>&1 9>&- &
  printf '%s\n' "$!" >"$PID_FILE"
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if broker_ready; then
      return 0
    fi
    if ! pid_alive "$pid"; then
      log_tail
      rm -f "$PID_FILE"
      die "the broker process $pid exited during startup; see the log lines above and $LOG_DIR"
    fi
    sleep 0.25
  done
  log_tail
  stop_broker >/dev/null 2>&1 || true
  die "the broker did not accept connections on $BROKERS within ${START_TIMEOUT}s (KAFKA_START_TIMEOUT); it was stopped, see the log lines above and $LOG_DIR"
}

start_broker() {
  find_java
  local pid pretend_stopped=0
  pid="$(broker_pid)"
  # A dry-run restart only pretended to stop the broker.
  if ((DRY_RUN)) && [[ "$COMMAND" == restart ]]; then
    pid=""
    pretend_stopped=1
  fi
  if [[ -n "$pid" ]]; then
    if ((DRY_RUN)); then
      info "already running (pid $pid); nothing to do"
      return 0
    fi
    printf '%s\n' "$pid" >"$PID_FILE"
    if ! broker_ready; then
      info "broker (pid $pid) is still starting; waiting"
      wait_ready "$pid"
    fi
    info "already running (pid $pid) at $BROKERS"
    printf 'KAFKA_BROKERS=%s\n' "$BROKERS"
    return 0
  fi
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_METRICS_PORT"; do
    if ((pretend_stopped == 0)) && port_open "$port"; then
      die "port $port on 127.0.0.1 is already in use by another process; stop it or choose other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_METRICS_PORT"
    fi
  done
  ensure_libs
  write_config
  format_storage
  info "starting Kafka $KAFKA_VERSION (KRaft) on $BROKERS, work dir $WORK_DIR"
  launch
  if ((DRY_RUN)); then
    return 0
  fi
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  local started=$SECONDS
  wait_ready "$pid"
  info "ready after $((SECONDS - started))s (pid $pid); logs in $LOG_DIR; metrics at http://127.0.0.1:$KAFKA_METRICS_PORT/metrics"
  printf 'KAFKA_BROKERS=%s\n' "$BROKERS"
}

stop_broker() {
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    if ((DRY_RUN == 0)); then rm -f "$PID_FILE"; fi
    info "not running"
    return 0
  fi
  run kill -TERM "$pid"
  if ((DRY_RUN)); then
    printf '+ wait up to %ss, then kill -KILL %s\n' "$STOP_TIMEOUT" "$pid"
    return 0
  fi
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if pid_alive "$pid"; then
    info "broker (pid $pid) did not exit within ${STOP_TIMEOUT}s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while pid_alive "$pid"; do
      sleep 0.1
    done
  fi
  rm -f "$PID_FILE"
  info "stopped (pid $pid)"
}

status_broker() {
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    echo "kafka-local: not running (work dir $WORK_DIR)"
    exit 3
  fi
  if broker_ready; then
    echo "kafka-local: running (pid $pid) at $BROKERS, Kafka $KAFKA_VERSION, work dir $WORK_DIR"
    exit 0
  fi
  echo "kafka-local: process $pid is up but not accepting connections on $BROKERS yet"
  exit 3
}

# Serialise start/stop so parallel callers cannot start two brokers.
take_lock() {
  ((DRY_RUN)) && return 0
  mkdir -p "$WORK_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$WORK_DIR/.lock"
    flock -w $((START_TIMEOUT + STOP_TIMEOUT + 30)) 9 || die "another kafka-local.sh holds $WORK_DIR/.lock"
  fi
}

case "$COMMAND" in
  start) take_lock; start_broker ;;
  stop) take_lock; stop_broker ;;
  restart) take_lock; find_java; stop_broker; start_broker ;;
  status) status_broker ;;
  fetch) ensure_libs; printf '%s\n' "$LIBS_DIR" ;;
esac
