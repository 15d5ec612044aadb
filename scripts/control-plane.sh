#!/usr/bin/env bash
# Ephemeral Kubernetes control plane (etcd + kube-apiserver) on 127.0.0.1, no Docker.
# Binaries are built once from their Go modules and cached under ~/.cache/volwatch.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/control-plane.sh [--dry-run] <start|stop|status|build|build-node>

  start    build (if not cached) and start etcd + kube-apiserver, wait for /readyz,
           write the kubeconfig; does nothing if already running
  stop     stop both processes and wait until they are gone
  status   exit 0 when the API server is ready, 3 when it is down
  build    only build and cache the binaries
  build-node  build and cache the node's Kubernetes binaries from the same module: kubelet,
           kube-controller-manager, kube-scheduler, kube-proxy, kubectl (scripts/node-build.sh)

Environment (defaults in brackets):
  VOLWATCH_K8S_DIR            runtime data, certs, logs, kubeconfig [<repo>/.work/k8s]
  VOLWATCH_K8S_PORT           kube-apiserver secure port [6443]
  VOLWATCH_K8S_ADDRESS        local address kube-apiserver binds to and advertises [127.0.0.1];
                              scripts/node-up.sh passes the node bridge's, which pods can reach
  VOLWATCH_ETCD_PORT          etcd client port [23790]; peer port is this + 1
  VOLWATCH_K8S_VERSION        Kubernetes version to build [1.34.4]
  VOLWATCH_CACHE_DIR          build cache [~/.cache/volwatch]
  VOLWATCH_K8S_START_TIMEOUT  seconds to wait for readiness [120]
EOF
}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_DIR="${VOLWATCH_K8S_DIR:-$REPO_ROOT/.work/k8s}"
API_PORT="${VOLWATCH_K8S_PORT:-6443}"
API_ADDRESS="${VOLWATCH_K8S_ADDRESS:-127.0.0.1}"
ETCD_PORT="${VOLWATCH_ETCD_PORT:-23790}"
K8S_VERSION="${VOLWATCH_K8S_VERSION:-1.34.4}"
CACHE_DIR="${VOLWATCH_CACHE_DIR:-$HOME/.cache/volwatch}"
START_TIMEOUT="${VOLWATCH_K8S_START_TIMEOUT:-120}"
SERVICE_CIDR="10.96.0.0/16"

BUILD_DIR="$CACHE_DIR/k8s-build/v$K8S_VERSION"
BIN_DIR="$BUILD_DIR/bin"
APISERVER_BIN="$BIN_DIR/kube-apiserver"
ETCD_BIN="$BIN_DIR/etcd"
PKI="$K8S_DIR/pki"
KUBECONFIG_FILE="$K8S_DIR/kubeconfig"
ETCD_PID="$K8S_DIR/etcd.pid"
API_PID="$K8S_DIR/kube-apiserver.pid"

DRY_RUN=0
CMD=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    start | stop | status | build | build-node)
      if [[ -n "$CMD" ]]; then echo "control-plane: only one command allowed, got '$CMD' and '$arg'" >&2; exit 2; fi
      CMD="$arg" ;;
    *) echo "control-plane: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ -z "$CMD" ]]; then
  echo "control-plane: missing command (start, stop, status, build or build-node)" >&2
  usage >&2
  exit 2
fi
for v in VOLWATCH_K8S_PORT VOLWATCH_ETCD_PORT VOLWATCH_K8S_START_TIMEOUT; do
  if [[ -n "${!v:-}" ]] && ! [[ "${!v}" =~ ^[0-9]+$ ]]; then
    echo "control-plane: $v must be a number, got '${!v}'" >&2
    exit 2
  fi
done
ETCD_PEER_PORT="$((ETCD_PORT + 1))"
if ! [[ "$API_ADDRESS" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "control-plane: VOLWATCH_K8S_ADDRESS must be an IPv4 address of this machine, got '$API_ADDRESS'" >&2
  exit 2
fi
if ! [[ "$K8S_VERSION" =~ ^1\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "control-plane: VOLWATCH_K8S_VERSION must look like 1.34.4, got '$K8S_VERSION'" >&2
  exit 2
fi
K8S_MINOR="${BASH_REMATCH[1]}"
STAGING_VERSION="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

# shellcheck source-path=SCRIPTDIR source=lib/k8s-pki.sh
source "$REPO_ROOT/scripts/lib/k8s-pki.sh"
# shellcheck source-path=SCRIPTDIR source=lib/procs.sh
source "$REPO_ROOT/scripts/lib/procs.sh"

log() { echo "control-plane: $*" >&2; }
die() { log "$*"; exit 1; }

# Prints the command in dry-run mode, runs it otherwise.
run() {
  if ((DRY_RUN)); then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

need() {
  local missing=()
  local t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  if ((${#missing[@]})); then
    die "missing required tool(s): ${missing[*]} (Debian: apt-get install -y ${missing[*]/go/golang-go})"
  fi
}


port_in_use() { # PORT [ADDRESS]
  (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

curl_api() {
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://$API_ADDRESS:$API_PORT$1"
}

api_ready() {
  [[ -f "$PKI/admin.key" ]] && curl_api /readyz >/dev/null 2>&1
}

# The node's binaries, built from the same throwaway module as kube-apiserver.
NODE_COMPONENTS=(kubelet kube-controller-manager kube-scheduler kube-proxy kubectl)

# True when every named binary is in the cache.
built() {
  local c
  for c in "$@"; do [[ -x "$BIN_DIR/$c" ]] || return 1; done
}

# build COMPONENT...: builds the missing ones (etcd or k8s.io/kubernetes/cmd/COMPONENT).
build() {
  built "$@" && return 0
  need go
  if ((!DRY_RUN)); then
    # Two runs starting at once on a cold machine must not write the same build module;
    # the lock lives in a subshell so no server started later inherits it.
    mkdir -p "$CACHE_DIR"
    (
      if command -v flock >/dev/null 2>&1; then flock 9; fi
      built "$@" && exit 0
      build_module "$@"
    ) 9>"$CACHE_DIR/k8s-build.lock"
    return
  fi
  build_module "$@"
}

build_module() {
  local mod_json gomod etcd_version="" c
  local todo=()
  for c in "$@"; do built "$c" || todo+=("$c"); done
  log "building ${todo[*]} v$K8S_VERSION from the Go module proxy into $BIN_DIR (first run only; takes minutes)"
  run mkdir -p "$BUILD_DIR" "$BIN_DIR"
  if ((DRY_RUN)); then
    printf '+ (write %q: require k8s.io/kubernetes v%s, replace every k8s.io staging module with its %s tag)\n' "$BUILD_DIR/go.mod" "$K8S_VERSION" "$STAGING_VERSION"
    etcd_version="<etcd version from k8s.io/kubernetes go.mod>"
  else
    # k8s.io/kubernetes points its staging modules at ./staging via replace directives, which
    # are ignored in a dependency, so the throwaway module restates them as published tags.
    mod_json="$(cd "$BUILD_DIR" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$K8S_VERSION")" ||
      die "cannot download k8s.io/kubernetes@v$K8S_VERSION from the Go module proxy"
    gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p' <<<"$mod_json")"
    [[ -f "$gomod" ]] || die "go mod download did not report the go.mod of k8s.io/kubernetes@v$K8S_VERSION"
    etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$gomod")"
    [[ -n "$etcd_version" ]] || die "k8s.io/kubernetes@v$K8S_VERSION does not name a go.etcd.io/etcd/server/v3 version"
    # An existing module (an earlier build of other components) is extended, not rewritten.
    if ! grep -qx "require k8s.io/kubernetes v$K8S_VERSION" "$BUILD_DIR/go.mod" 2>/dev/null &&
      ! grep -Eq "^[[:space:]]*k8s.io/kubernetes v$K8S_VERSION( |$)" "$BUILD_DIR/go.mod" 2>/dev/null; then
      {
        printf 'module volwatch.local/k8sbuild\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S_VERSION"
        awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$gomod" | sort -u |
          while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
        printf ')\n'
      } >"$BUILD_DIR/go.mod"
      rm -f "$BUILD_DIR/go.sum"
    fi
  fi
  local ldflags="-s -w"
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR -X $pkg.gitTreeState=clean"
  done
  local start=$SECONDS gets=()
  for c in "${todo[@]}"; do
    if [[ "$c" == etcd ]]; then gets+=("go.etcd.io/etcd/server/v3@$etcd_version"); else gets+=("k8s.io/kubernetes/cmd/$c@v$K8S_VERSION"); fi
  done
  (
    cd "$BUILD_DIR"
    export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
    run go get "${gets[@]}"
    for c in "${todo[@]}"; do
      if [[ "$c" == etcd ]]; then
        run go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3
      else
        run go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$c.tmp" "k8s.io/kubernetes/cmd/$c"
      fi
      run mv "$BIN_DIR/$c.tmp" "$BIN_DIR/$c"
    done
  ) || die "build failed (see the go output above)"
  ((DRY_RUN)) || log "built ${todo[*]} in $((SECONDS - start))s into $BIN_DIR"
}

gen_certs() {
  need openssl
  local san="IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  [[ "$API_ADDRESS" == 127.0.0.1 ]] || san+=",IP:$API_ADDRESS"
  pki_ca "$PKI"
  pki_cert "$PKI" apiserver /CN=kube-apiserver serverAuth "$san"
  pki_cert "$PKI" admin "/O=system:masters/CN=volwatch-admin" clientAuth
  # The API server's identity towards kubelets (logs, exec, port-forward).
  pki_cert "$PKI" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  if [[ ! -f "$PKI/sa.key" ]]; then
    if ((DRY_RUN)); then
      run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$PKI/sa.key"
    else
      if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$PKI/sa.key" 2>>"$PKI/openssl.log" ||
        ! openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>>"$PKI/openssl.log"; then
        die "openssl could not create the service-account key; see $PKI/openssl.log"
      fi
    fi
  fi
}

write_kubeconfig() {
  pki_kubeconfig "$KUBECONFIG_FILE" "https://$API_ADDRESS:$API_PORT" "$PKI" admin
}


wait_for() {
  local what="$1" logfile="$2" pidfile="$3" bin="$4"
  shift 4
  ((DRY_RUN)) && return 0
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@"; do
    if ! proc_pid "$pidfile" "$bin" >/dev/null; then
      log "$what exited during startup; last lines of $logfile:"
      tail -n 20 "$logfile" >&2 || true
      stop_all
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "$what not ready after ${START_TIMEOUT}s; last lines of $logfile:"
      tail -n 20 "$logfile" >&2 || true
      stop_all
      exit 1
    fi
    sleep 0.5
  done
}

etcd_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'
}

start() {
  need curl setsid base64
  if proc_pid "$API_PID" "$APISERVER_BIN" >/dev/null && api_ready; then
    log "already running: https://$API_ADDRESS:$API_PORT, KUBECONFIG=$KUBECONFIG_FILE"
    return 0
  fi
  # Half-started leftovers from an earlier run are cleared so start is always from scratch.
  stop_all quiet
  build kube-apiserver etcd
  gen_certs
  local p
  if ((!DRY_RUN)) && port_in_use "$API_PORT" "$API_ADDRESS"; then
    die "port $API_PORT on $API_ADDRESS is already in use by another process; set VOLWATCH_K8S_PORT to a free port"
  fi
  for p in "$ETCD_PORT" "$ETCD_PEER_PORT"; do
    if ((!DRY_RUN)) && port_in_use "$p"; then
      die "port $p on 127.0.0.1 is already in use by another process; set VOLWATCH_ETCD_PORT to a free port"
    fi
  done
  local begin=$SECONDS
  # The control plane is ephemeral: every start begins with an empty etcd.
  run rm -rf "$K8S_DIR/etcd-data"
  run mkdir -p "$K8S_DIR/etcd-data" "$K8S_DIR/apiserver-certs"
  proc_start "$ETCD_PID" "$K8S_DIR/etcd.log" "$ETCD_BIN" \
    --name=volwatch --data-dir="$K8S_DIR/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="volwatch=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level=warn
  wait_for etcd "$K8S_DIR/etcd.log" "$ETCD_PID" "$ETCD_BIN" etcd_healthy
  proc_start "$API_PID" "$K8S_DIR/kube-apiserver.log" "$APISERVER_BIN" \
    --bind-address="$API_ADDRESS" --advertise-address="$API_ADDRESS" --secure-port="$API_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --cert-dir="$K8S_DIR/apiserver-certs" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-account-issuer="https://kubernetes.default.svc" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --anonymous-auth=false --profiling=false --allow-privileged=true
  wait_for kube-apiserver "$K8S_DIR/kube-apiserver.log" "$API_PID" "$APISERVER_BIN" api_ready
  write_kubeconfig
  ((DRY_RUN)) || log "ready in $((SECONDS - begin))s: https://$API_ADDRESS:$API_PORT, KUBECONFIG=$KUBECONFIG_FILE"
}


stop_all() {
  local quiet="${1:-}"
  local was_up=0
  if proc_pid "$API_PID" "$APISERVER_BIN" >/dev/null || proc_pid "$ETCD_PID" "$ETCD_BIN" >/dev/null; then
    was_up=1
  fi
  proc_stop kube-apiserver "$API_PID" "$APISERVER_BIN"
  proc_stop etcd "$ETCD_PID" "$ETCD_BIN"
  if [[ -z "$quiet" ]] && ((!DRY_RUN)); then
    if ((was_up)); then log "stopped"; else log "not running"; fi
  fi
}

status() {
  local api_pid etcd_pid
  api_pid="$(proc_pid "$API_PID" "$APISERVER_BIN")" || api_pid=""
  etcd_pid="$(proc_pid "$ETCD_PID" "$ETCD_BIN")" || etcd_pid=""
  if ((DRY_RUN)); then
    printf '+ curl https://%s:%s/readyz\n' "$API_ADDRESS" "$API_PORT"
    return 0
  fi
  if [[ -n "$api_pid" && -n "$etcd_pid" ]] && api_ready; then
    echo "up: kube-apiserver pid $api_pid on https://$API_ADDRESS:$API_PORT, etcd pid $etcd_pid on 127.0.0.1:$ETCD_PORT, KUBECONFIG=$KUBECONFIG_FILE"
    return 0
  fi
  local api_state="not running" etcd_state="not running"
  [[ -n "$api_pid" ]] && api_state="pid $api_pid, not ready"
  [[ -n "$etcd_pid" ]] && etcd_state="pid $etcd_pid"
  echo "down: kube-apiserver $api_state; etcd $etcd_state"
  return 3
}

case "$CMD" in
  build) build kube-apiserver etcd ;;
  build-node) build "${NODE_COMPONENTS[@]}" ;;
  start) run mkdir -p "$K8S_DIR"; start ;;
  stop) stop_all ;;
  status) status ;;
esac
