# shellcheck shell=bash
# The background servers of the ephemeral clusters (scripts/control-plane.sh, scripts/node-up.sh):
# each started detached with a pid file and a log, found again by that pid file (only while the
# pid still runs the same binary: pids get reused), and stopped with SIGTERM, then SIGKILL.
# Source it from a script that defines die and log; with DRY_RUN=1 proc_start and proc_stop print.
#
#   proc_pid PIDFILE BIN                   print the pid when PIDFILE names a live process running BIN
#   proc_start PIDFILE LOGFILE BIN ARGS... start BIN in its own session (no-op when it runs)
#   proc_stop NAME PIDFILE BIN [SECONDS]   SIGTERM, SIGKILL after SECONDS [15]; returns once it is gone

proc_pid() {
  local file="$1" bin="$2" pid cmdline
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  # Not `tr | grep -q`: grep exiting early makes tr die of SIGPIPE, which pipefail reports.
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$bin"* ]] || return 1
  printf '%s\n' "$pid"
}

proc_start() {
  local pidfile="$1" logfile="$2"
  shift 2
  if [[ "${DRY_RUN:-0}" == 1 ]]; then
    printf '+ setsid'
    printf ' %q' "$@"
    printf ' >%q 2>&1 &\n' "$logfile"
    return 0
  fi
  proc_pid "$pidfile" "$1" >/dev/null && return 0
  # fds 7-9 may hold callers' locks (test-k8s.sh, test-node.sh, builds): servers must not keep them.
  setsid "$@" >"$logfile" 2>&1 </dev/null 7>&- 8>&- 9>&- &
  local pid=$! i
  printf '%s\n' "$pid" >"$pidfile"
  # Until the forked shell has exec'd BIN, its cmdline is the caller's: proc_pid would call a
  # server that is starting "gone" (a loaded machine showed it). Return once BIN runs (or died).
  for ((i = 0; i < 100; i++)); do
    proc_pid "$pidfile" "$1" >/dev/null && return 0
    [[ -d "/proc/$pid" ]] || return 0
    sleep 0.05
  done
}

proc_stop() {
  local name="$1" pidfile="$2" bin="$3" grace="${4:-15}" pid i
  if ! pid="$(proc_pid "$pidfile" "$bin")"; then
    if [[ "${DRY_RUN:-0}" == 1 ]]; then printf '+ rm -f %q\n' "$pidfile"; else rm -f "$pidfile"; fi
    return 0
  fi
  if [[ "${DRY_RUN:-0}" == 1 ]]; then
    printf '+ kill -TERM %s\n' "$pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    [[ -d "/proc/$pid" ]] || break
    sleep 0.1
  done
  if [[ -d "/proc/$pid" ]]; then
    log "$name (pid $pid) ignored SIGTERM for ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -d "/proc/$pid" ]] || break
      sleep 0.1
    done
  fi
  [[ -d "/proc/$pid" ]] && die "$name (pid $pid) is still running"
  rm -f "$pidfile"
}
