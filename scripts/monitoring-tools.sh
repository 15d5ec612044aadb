#!/usr/bin/env bash
# Prometheus, Alertmanager and Sloth built from the Go module proxy at the versions
# kube-prometheus-stack 88.5.3 runs, so every test checks rules with the real target
# (never Debian's Prometheus 2.42). Each build happens once per version and is cached.
#
# Cache layout (stable: the node engineer's images and other scripts read it; the
# NAME-VERSION directories are scripts/lib/gobuild.sh's, shared with every caller):
#   ~/.cache/volwatch/go-build/prometheus-v0.314.0/bin/{prometheus,promtool}   Prometheus 3.14.0
#   ~/.cache/volwatch/go-build/alertmanager-v0.34.0/bin/{alertmanager,amtool}  Alertmanager 0.34.0
#   ~/.cache/volwatch/go-build/sloth-v0.16.0/bin/sloth                         Sloth 0.16.0
# (VOLWATCH_CACHE_DIR moves the ~/.cache/volwatch root.) Neither web UI is in these
# builds: the Go modules carry no built UI assets; the HTTP APIs are complete.
#
# Usage: scripts/monitoring-tools.sh [--dry-run] build [prometheus|alertmanager|sloth]...
#        scripts/monitoring-tools.sh path TOOL     build if needed, print TOOL's absolute path
#                                                  (prometheus, promtool, alertmanager, amtool, sloth)
#        scripts/monitoring-tools.sh built TOOL    exit 0 when TOOL is built (cached), 1 when not
#        scripts/monitoring-tools.sh versions      print the pinned versions as KEY=VALUE lines
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/gobuild.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/gobuild.sh"

PROMETHEUS_VERSION=3.14.0
PROMETHEUS_MODULE_VERSION=v0.314.0
ALERTMANAGER_VERSION=0.34.0
SLOTH_VERSION=0.16.0

usage() { sed -n '14,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

# The module ships ui/web.go with `//go:embed app/dist` but no built UI, so `go build`
# fails ("pattern app/dist: no matching files found"). Build from a writable copy of the
# module that has a one-page placeholder, wired in with a replace directive.
alertmanager_placeholder_ui() {
  local mod="$1" src copy="$1/alertmanager-src"
  src="$(go list -m -f '{{.Dir}}' github.com/prometheus/alertmanager)"
  [[ -d "$src" ]] || die "the Alertmanager module source was not downloaded"
  rm -rf "$copy"
  cp -R "$src" "$copy"
  chmod -R u+w "$copy"
  mkdir -p "$copy/ui/app/dist"
  printf '%s\n' '<!doctype html><title>Alertmanager</title><p>The web UI is not part of this build (volwatch builds Alertmanager from the Go module, which has no UI assets). Use the API: <a href="api/v2/alerts">/api/v2/alerts</a>, or amtool.' \
    >"$copy/ui/app/dist/index.html"
  go mod edit -replace "github.com/prometheus/alertmanager=$copy"
}

build_prometheus() {
  GOBUILD_LDFLAGS="-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    gobuild_cached prometheus "$PROMETHEUS_MODULE_VERSION" github.com/prometheus/prometheus \
    github.com/prometheus/prometheus/cmd/promtool github.com/prometheus/prometheus/cmd/prometheus
}

build_alertmanager() {
  GOBUILD_LDFLAGS="-X github.com/prometheus/common/version.Version=$ALERTMANAGER_VERSION" \
    GOBUILD_PREPARE=alertmanager_placeholder_ui \
    gobuild_cached alertmanager "v$ALERTMANAGER_VERSION" github.com/prometheus/alertmanager \
    github.com/prometheus/alertmanager/cmd/alertmanager github.com/prometheus/alertmanager/cmd/amtool
}

# Sloth looks for itself among the build's dependencies and says "dev" when it is the main
# module, as here; its output carries the version (sloth_version label), so set it.
build_sloth() {
  GOBUILD_LDFLAGS="-X github.com/slok/sloth/internal/info.Version=v$SLOTH_VERSION" \
    gobuild_cached sloth "v$SLOTH_VERSION" github.com/slok/sloth github.com/slok/sloth/cmd/sloth
}

build() {
  local what=("$@") c
  ((${#what[@]})) || what=(prometheus alertmanager sloth)
  for c in "${what[@]}"; do
    case "$c" in
      prometheus | alertmanager | sloth) ;;
      *) die "unknown component '$c': expected prometheus, alertmanager or sloth" ;;
    esac
  done
  for c in "${what[@]}"; do
    local bin
    bin="$("build_$c")"
    is_dry_run || log "$c: $bin"
  done
}

tool_path() {
  (($# == 1)) || die "path takes one tool: prometheus, promtool, alertmanager, amtool or sloth"
  local bin
  case "$1" in
    prometheus | promtool) bin="$(build_prometheus)" ;;
    alertmanager | amtool) bin="$(build_alertmanager)" ;;
    sloth) bin="$(build_sloth)" ;;
    *) die "unknown tool '$1': expected prometheus, promtool, alertmanager, amtool or sloth" ;;
  esac
  printf '%s/%s\n' "$bin" "$1"
}

ARGS=()
parse_args '@ARGS' "$@"
((${#ARGS[@]})) || { usage >&2; die "missing command: build, path, built or versions"; }

case "${ARGS[0]}" in
  build) build "${ARGS[@]:1}" ;;
  path) tool_path "${ARGS[@]:1}" ;;
  built)
    ((${#ARGS[@]} == 2)) || die "built takes one tool"
    case "${ARGS[1]:-}" in
      prometheus | promtool) gobuild_done prometheus "$PROMETHEUS_MODULE_VERSION" _ "${ARGS[1]}" ;;
      alertmanager | amtool) gobuild_done alertmanager "v$ALERTMANAGER_VERSION" _ "${ARGS[1]}" ;;
      sloth) gobuild_done sloth "v$SLOTH_VERSION" _ sloth ;;
      *) die "unknown tool '${ARGS[1]:-}': expected prometheus, promtool, alertmanager, amtool or sloth" ;;
    esac
    ;;
  versions)
    printf 'PROMETHEUS_VERSION=%s\nPROMETHEUS_MODULE_VERSION=%s\nALERTMANAGER_VERSION=%s\nSLOTH_VERSION=%s\n' \
      "$PROMETHEUS_VERSION" "$PROMETHEUS_MODULE_VERSION" "$ALERTMANAGER_VERSION" "$SLOTH_VERSION"
    ;;
  *) usage >&2; die "unknown command '${ARGS[0]}': expected build, path, built or versions" ;;
esac
