# shellcheck shell=bash
# The set-up that `npm test` and `npm start` do themselves. What each command needs is
# listed in one place, needs_test and needs_start below: add a line there for a new tool
# or build. Each need_* installs its need when it can (the pinned Node runtime, the npm
# packages, Debian packages with apt-get when running as root, the Kafka jars, Go-module
# builds) and otherwise stops with the exact command to run.
#
# Source it after scripts/lib/common.sh, then:
#   setup_command test|start    provision what the command needs, in order
#   setup_wait_background       wait for the builds need_background started; 1 if one failed
#
# In a dry run nothing is installed, built or started: every command that would run is
# printed as `+ CMD` on stdout, and each need already met as `setup: have ...` on stderr.
# VOLWATCH_SETUP_UID (default: id -u) lets a test plan for root or for a plain user.

# shellcheck source-path=SCRIPTDIR source=node-runtime.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-runtime.sh"

# What `npm test` needs, in the order it is provisioned.
needs_test() {
  need_node
  need_npm_packages
  need_debian shellcheck:shellcheck openssl:openssl curl:curl chromium:chromium \
    java:default-jre-headless mvn:maven
  need_kafka_jars
  need_go
  # Prometheus 3.14, Alertmanager 0.34 and Sloth 0.16 for the rule tests: built at low priority
  # beside the jest suites; the suites that need them wait on the build's lock
  # (test/support/monitoring-tools.ts).
  need_background "monitoring tools" bash scripts/monitoring-tools.sh build
  # The local Kubernetes node (scripts/node-up.sh): its container runtime, iptables for
  # kube-proxy, and mmdebstrap for its images' Debian root filesystems.
  need_debian runc:runc iptables:iptables conntrack:conntrack mmdebstrap:mmdebstrap
  # etcd + kube-apiserver first, then the node's binaries and images: many minutes on a new
  # machine (cached afterwards), at low priority beside the jest suites; scripts/test.sh waits
  # for them before the Kubernetes suites.
  need_background "kubernetes and the node" bash scripts/node-build.sh all
}

# What `npm start` needs.
needs_start() {
  need_node
  need_npm_packages
  need_debian java:default-jre-headless mvn:maven
  need_kafka_jars
  # Prometheus and Alertmanager are Go-module builds (scripts/monitoring-tools.sh).
  need_go
}

setup_command() {
  case "$1" in
    test) needs_test ;;
    start) needs_start ;;
    *) die "setup_command: unknown command '$1' (test or start)" ;;
  esac
}

_setup_is_root() { [[ "${VOLWATCH_SETUP_UID:-$(id -u)}" == 0 ]]; }
_setup_have() { printf 'setup: have %s\n' "$*" >&2; }

# need_node: the Node version of .node-version (or newer) first on PATH; see node-runtime.sh.
need_node() {
  command -v npm >/dev/null 2>&1 || need_debian npm:npm
  node_runtime_use
  node_runtime_current || return 0 # a dry run that would fetch it
  _setup_have "Node $(node -p 'process.versions.node') ($(command -v node))"
}

# need_npm_packages: node_modules exactly as package-lock.json says (`npm ci`) when it is
# missing or older than the lock (npm writes node_modules/.package-lock.json on every install).
need_npm_packages() {
  local hidden="$VOLWATCH_ROOT/node_modules/.package-lock.json"
  if [[ -f "$hidden" && ! "$VOLWATCH_ROOT/package-lock.json" -nt "$hidden" ]]; then
    _setup_have "node_modules matching package-lock.json"
    return 0
  fi
  (cd "$VOLWATCH_ROOT" && run npm ci --no-audit --no-fund)
}

# need_debian [--optional] COMMAND:PACKAGE...: each COMMAND on PATH, else its Debian PACKAGE
# installed with apt-get (as root) or the exact command printed. --optional only warns.
_SETUP_APT_UPDATED=0
need_debian() {
  local optional=0 pair missing=() packages=()
  [[ "$1" == --optional ]] && optional=1 && shift
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || { missing+=("${pair%%:*}") && packages+=("${pair#*:}"); }
  done
  if ((${#missing[@]} == 0)); then
    _setup_have "${*%%:*}" && return 0
  fi
  local install=(apt-get install -y -qq --no-install-recommends "${packages[@]}")
  if ! _setup_is_root || ! command -v apt-get >/dev/null 2>&1; then
    local how="sudo ${install[*]}"
    command -v apt-get >/dev/null 2>&1 || how="your package manager (Debian: ${install[*]})"
    if ((optional)); then
      warn "${missing[*]} not installed (optional): install with $how"
    elif is_dry_run; then
      warn "would stop: missing ${missing[*]}; install with: $how"
    else
      die "missing ${missing[*]}; install with: $how"
    fi
    return 0
  fi
  if ((!_SETUP_APT_UPDATED)); then
    run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _SETUP_APT_UPDATED=1
  fi
  if is_dry_run; then
    print_cmd env DEBIAN_FRONTEND=noninteractive "${install[@]}"
  else
    log "installing Debian packages: ${packages[*]}"
    env DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null
    hash -r
  fi
}

# need_kafka_jars: the Kafka jars from Maven Central in ~/.cache/volwatch/kafka (once).
need_kafka_jars() {
  if is_dry_run; then
    print_cmd bash scripts/kafka-local.sh fetch
  else
    local libs
    libs="$(cd "$VOLWATCH_ROOT" && bash scripts/kafka-local.sh fetch)"
    _setup_have "Kafka jars in $libs"
  fi
}

# need_go: the Go toolchain the Go-module builds (scripts/lib/gobuild.sh) use.
need_go() {
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="$PATH:/usr/local/go/bin"
  fi
  if command -v go >/dev/null 2>&1; then
    _setup_have "$(go version)"
    return 0
  fi
  local how="install Go 1.25 or newer from https://go.dev/dl/ (for example: curl -fsSL https://go.dev/dl/go1.26.0.linux-amd64.tar.gz | tar -C /usr/local -xz) and add /usr/local/go/bin to PATH"
  if is_dry_run; then warn "would stop: go is missing; $how"; else die "go is missing: it builds etcd, kube-apiserver and the monitoring tools from the Go module proxy; $how"; fi
}

# need_background LABEL CMD...: start CMD at low priority now (log: .work/setup/<label>.log);
# setup_wait_background waits for it.
_SETUP_BG_PIDS=()
_SETUP_BG_LABELS=()
need_background() {
  local label="$1" logf
  shift
  logf="$VOLWATCH_ROOT/.work/setup/${label// /-}.log"
  if is_dry_run; then
    print_cmd nice -n 19 "$@"
    printf '  (in the background, log: %s)\n' "$logf"
    return 0
  fi
  mkdir -p "$(dirname "$logf")"
  (cd "$VOLWATCH_ROOT" && exec nice -n 19 "$@") >"$logf" 2>&1 &
  _SETUP_BG_PIDS+=("$!")
  _SETUP_BG_LABELS+=("$label")
}

setup_wait_background() {
  local i status=0 logf
  for i in "${!_SETUP_BG_PIDS[@]}"; do
    if ! wait "${_SETUP_BG_PIDS[$i]}"; then
      logf="$VOLWATCH_ROOT/.work/setup/${_SETUP_BG_LABELS[$i]// /-}.log"
      printf 'error: building %s failed; its log (%s):\n' "${_SETUP_BG_LABELS[$i]}" "$logf" >&2
      tail -n 40 "$logf" >&2
      status=1
    fi
  done
  _SETUP_BG_PIDS=()
  _SETUP_BG_LABELS=()
  return "$status"
}
