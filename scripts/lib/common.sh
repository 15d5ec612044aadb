# shellcheck shell=bash
# Shared helpers for volwatch scripts. Source it, parse your flags with parse_args,
# then use:
#   parse_args SPEC ARGS...  the scripts' one argument loop (see below)
#   run CMD...           print CMD (dry run) or execute it
#   need_tools T...      fail naming every missing tool (dry run: warn only)
#   log / warn / die     messages on stderr

VOLWATCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DRY_RUN=${DRY_RUN:-0}

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

is_dry_run() { [[ "$DRY_RUN" == 1 ]]; }

# parse_args SPEC ARGS...: --dry-run sets DRY_RUN=1; -h/--help prints the script's usage
# (its `usage` function) and exits 0; SPEC declares the script's own flags, space-separated:
#   --flag=VAR      takes a value, stored in VAR           (--name=CLUSTER)
#   --flag:VAR=V    takes no value, sets VAR to V          (--skip-build:BUILD=0)
#   @ARRAY          positional arguments are appended to the array ARRAY (ARGS=(); parse_args '@ARGS' "$@")
# Anything else prints the usage on stderr and stops with a sentence naming the argument.
parse_args() {
  local spec=" $1 " arg decl
  shift
  while (($#)); do
    arg="$1"
    case "$arg" in
      --dry-run) DRY_RUN=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      --*)
        if [[ "$spec" == *" $arg="* ]]; then
          decl="${spec#* "$arg"=}"
          [[ $# -ge 2 ]] || die "$arg needs a value"
          printf -v "${decl%% *}" '%s' "$2"
          shift
        elif [[ "$spec" == *" $arg:"* ]]; then
          decl="${spec#* "$arg":}"
          decl="${decl%% *}"
          printf -v "${decl%%=*}" '%s' "${decl#*=}"
        else
          usage >&2
          die "unknown argument: $arg"
        fi
        ;;
      *)
        if [[ "$spec" =~ \ @([A-Za-z_][A-Za-z0-9_]*)\  ]]; then
          local -n _parse_args_positional="${BASH_REMATCH[1]}"
          _parse_args_positional+=("$arg")
        else
          usage >&2
          die "unknown argument: $arg"
        fi
        ;;
    esac
    shift
  done
}

# Prints a command the way a user could paste it: arguments shell-quoted only when needed.
print_cmd() {
  local out='' arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
      out+="$arg "
    else
      out+="'${arg//\'/\'\\\'\'}' "
    fi
  done
  printf '+ %s\n' "${out% }"
}

run() {
  if is_dry_run; then
    print_cmd "$@"
  else
    "$@"
  fi
}

need_tools() {
  local missing=() t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  ((${#missing[@]} == 0)) && return 0
  if is_dry_run; then
    warn "missing tools (needed for a real run): ${missing[*]}"
  else
    die "missing required tools: ${missing[*]} (install them and retry; see docs/deploy.md)"
  fi
}

# Loads charts/kube-prometheus-stack/chart.env: the one place the chart version is pinned.
load_chart_env() {
  local env_file="$VOLWATCH_ROOT/charts/kube-prometheus-stack/chart.env"
  [[ -f "$env_file" ]] || die "$env_file not found"
  # shellcheck source=/dev/null
  source "$env_file"
  [[ -n "${CHART_VERSION:-}" ]] || die "CHART_VERSION is not set in $env_file"
}

# Image the manifests reference: ghcr.io/volwatch/volwatch:<package.json version>.
default_image() {
  local version
  version=$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$VOLWATCH_ROOT/package.json" | head -n 1)
  [[ -n "$version" ]] || die "cannot read the version from package.json"
  printf 'ghcr.io/volwatch/volwatch:%s\n' "$version"
}
