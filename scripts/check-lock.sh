#!/usr/bin/env bash
# Checks that package-lock.json is complete: a fresh install from package.json and the
# committed lock must leave the lock byte for byte unchanged (an incomplete lock, say one
# missing the optional per-platform packages the registry serves, would be rewritten, and
# `npm ci` elsewhere would then install something other than what was tested).
# Needs the npm registry; changes nothing in the tree.
#
#   scripts/check-lock.sh [--dry-run]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$VOLWATCH_ROOT"
usage() { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
parse_args '' "$@"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp package.json package-lock.json .npmrc "$tmp/"
(cd "$tmp" && run npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error)
is_dry_run && exit 0
if ! cmp -s package-lock.json "$tmp/package-lock.json"; then
  diff -u package-lock.json "$tmp/package-lock.json" | head -n 40 >&2 || true
  die "a fresh install rewrites package-lock.json (diff above): run npm install and commit the lock"
fi
log "package-lock.json is complete: a fresh install leaves it unchanged"
