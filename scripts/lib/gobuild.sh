# shellcheck shell=bash
# Builds Go programs from the Go module proxy into a per-version cache, once.
# Source it (after scripts/lib/common.sh, which provides run/log/die/is_dry_run), then:
#
#   gobuild_cached NAME VERSION MODULE PKG...      prints the bin directory on stdout
#
# NAME     cache key and log name (for example "prometheus")
# VERSION  the module version to `go get` (for example v0.314.0)
# MODULE   the module path (for example github.com/prometheus/prometheus)
# PKG      packages to build (for example github.com/prometheus/prometheus/cmd/promtool);
#          each lands in the bin directory under its last path element. A PKG of the
#          throwaway module itself (volwatch.local/build/NAME, a main that GOBUILD_PREPARE
#          writes: for example CoreDNS with only the plugins we use) is built, not fetched.
#
# Optional environment, read per call:
#   GOBUILD_LDFLAGS   extra -ldflags (always with -s -w)
#   GOBUILD_TAGS      -tags value
#   GOBUILD_PREPARE   name of a shell function run inside the throwaway module after
#                     `go get` and before `go build` (for replace directives, placeholder
#                     files in a writable module copy, ...); it gets the module dir as $1.
#   VOLWATCH_CACHE_DIR  cache root [~/.cache/volwatch]
#
# The bin directory is ~/.cache/volwatch/go-build/NAME-VERSION/bin. A build happens
# under a lock (two runs on a cold machine build once) and is published by renaming,
# so a half-built binary is never picked up.

GOBUILD_CACHE_ROOT="${VOLWATCH_CACHE_DIR:-$HOME/.cache/volwatch}/go-build"

gobuild_dir() { printf '%s/%s-%s\n' "$GOBUILD_CACHE_ROOT" "$1" "$2"; }

# True when every package of the call is built.
gobuild_done() {
  local name="$1" version="$2" pkg
  shift 3
  local bin
  bin="$(gobuild_dir "$name" "$version")/bin"
  for pkg in "$@"; do
    [[ -x "$bin/${pkg##*/}" ]] || return 1
  done
}

gobuild_cached() {
  local name="$1" version="$2" module="$3"
  shift 3
  (($# > 0)) || die "gobuild_cached $name: no package to build"
  local dir bin
  dir="$(gobuild_dir "$name" "$version")"
  bin="$dir/bin"
  if gobuild_done "$name" "$version" "$module" "$@"; then
    printf '%s\n' "$bin"
    return 0
  fi
  command -v go >/dev/null 2>&1 || [[ -x /usr/local/go/bin/go ]] ||
    die "go is not installed: it builds $name $version from the Go module proxy (https://go.dev/doc/install)"
  command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
  if is_dry_run; then
    print_cmd go get "$module@$version" >&2
    [[ -z "${GOBUILD_PREPARE:-}" ]] || print_cmd "$GOBUILD_PREPARE" MODULE_DIR >&2
    local p
    for p in "$@"; do print_cmd go build -trimpath -o "$bin/${p##*/}" "$p" >&2; done
    printf '%s\n' "$bin"
    return 0
  fi
  mkdir -p "$dir"
  (
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    gobuild_done "$name" "$version" "$module" "$@" && exit 0
    _gobuild_run "$name" "$version" "$module" "$dir" "$@"
  ) 9>"$dir.lock" >&2 || die "building $name $version failed; see $dir/build.log"
  printf '%s\n' "$bin"
}

_gobuild_run() {
  local name="$1" version="$2" module="$3" dir="$4"
  shift 4
  local mod="$dir/module" start=$SECONDS p gets=("$module@$version")
  for p in "$@"; do [[ "$p" == volwatch.local/* ]] || gets+=("$p@$version"); done
  log "building $name $version from the Go module proxy (first run only; can take minutes)"
  rm -rf "$mod"
  mkdir -p "$mod" "$dir/bin"
  (
    cd "$mod"
    export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
    {
      go mod init "volwatch.local/build/$name" &&
        go get "${gets[@]}" &&
        if [[ -n "${GOBUILD_PREPARE:-}" ]]; then "$GOBUILD_PREPARE" "$mod"; fi &&
        for p in "$@"; do
          go build -trimpath ${GOBUILD_TAGS:+-tags "$GOBUILD_TAGS"} -ldflags "-s -w ${GOBUILD_LDFLAGS:-}" \
            -o "$dir/bin/${p##*/}.tmp" "$p" || exit 1
        done
    } >"$dir/build.log" 2>&1
  ) || {
    tail -n 30 "$dir/build.log" >&2
    return 1
  }
  for p in "$@"; do mv "$dir/bin/${p##*/}.tmp" "$dir/bin/${p##*/}"; done
  log "built $name $version in $((SECONDS - start))s into $dir/bin"
}
