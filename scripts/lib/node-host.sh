# shellcheck shell=bash
# Host state the node changes, so scripts/node-down.sh can put every bit of it back, and the
# processes it runs. Source after scripts/lib/common.sh and scripts/lib/node-env.sh.

# shellcheck source-path=SCRIPTDIR source=procs.sh
source "$VOLWATCH_ROOT/scripts/lib/procs.sh"

# Kernel settings the node needs (ip_forward, bridge netfilter) or the kubelet tunes
# (protectKernelDefaults is off: the kubelet's values are what pods expect).
NODE_SYSCTLS=(
  net.ipv4.ip_forward
  net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables
  net.ipv4.conf.all.route_localnet
  vm.overcommit_memory
  vm.panic_on_oom
  kernel.panic
  kernel.panic_on_oops
  kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes
)
# Directories outside .work/node that containerd, the kubelet and CNI create when missing.
NODE_HOST_DIRS=(/run/containerd /var/run/netns /var/log/containers /var/log/pods /var/lib/cni /run/netns /opt/cni /etc/cni)
NODE_HOST_STATE="$NODE_DIR/host"

sysctl_path() { printf '/proc/sys/%s\n' "${1//.//}"; }

# Once per bring-up: what the host looked like before the node touched it.
record_host_state() {
  [[ -f "$NODE_HOST_STATE/recorded" ]] && return 0
  if is_dry_run; then
    printf '+ (record %s and which of %s exist into %s)\n' "${NODE_SYSCTLS[*]}" "${NODE_HOST_DIRS[*]}" "$NODE_HOST_STATE"
    return 0
  fi
  mkdir -p "$NODE_HOST_STATE"
  local s p d
  : >"$NODE_HOST_STATE/sysctls"
  for s in "${NODE_SYSCTLS[@]}"; do
    p="$(sysctl_path "$s")"
    [[ -r "$p" ]] && printf '%s %s\n' "$s" "$(cat "$p")" >>"$NODE_HOST_STATE/sysctls"
  done
  : >"$NODE_HOST_STATE/dirs"
  for d in "${NODE_HOST_DIRS[@]}"; do
    [[ -e "$d" ]] && printf '%s\n' "$d" >>"$NODE_HOST_STATE/dirs"
  done
  touch "$NODE_HOST_STATE/recorded"
}

set_sysctl() {
  local p
  p="$(sysctl_path "$1")"
  if is_dry_run; then
    printf '+ echo %s > %s\n' "$2" "$p"
  else
    [[ -w "$p" ]] || die "cannot set $1: $p is not writable (the node needs root in a VM or on a host, not an unprivileged container)"
    printf '%s\n' "$2" >"$p"
  fi
}

restore_host_state() {
  [[ -f "$NODE_HOST_STATE/recorded" ]] || return 0
  local s v d
  while read -r s v; do
    [[ -n "$s" ]] || continue
    if [[ "$(cat "$(sysctl_path "$s")" 2>/dev/null)" != "$v" ]]; then set_sysctl "$s" "$v"; fi
  done <"$NODE_HOST_STATE/sysctls"
  for d in "${NODE_HOST_DIRS[@]}"; do
    grep -qx "$d" "$NODE_HOST_STATE/dirs" && continue
    [[ -e "$d" ]] || continue
    # Only what the node made: the directory and its (now empty) subdirectories and links.
    if is_dry_run; then
      print_cmd find "$d" -depth '(' -type d -empty -o -type l ')' -delete
    else
      find "$d" -depth \( -type l -o -type d -empty \) -delete 2>/dev/null || true
      [[ -e "$d" ]] && warn "$d was created by the node and still holds files; left in place: $(find "$d" -mindepth 1 | head -n 5 | tr '\n' ' ')"
    fi
  done
  is_dry_run || rm -rf "$NODE_HOST_STATE"
}

# ---- processes -------------------------------------------------------------------------------

# The node's processes, by NAME: pid file NODE_DIR/NAME.pid, log NODE_DIR/NAME.log (lib/procs.sh).
node_pid() { proc_pid "$NODE_DIR/$1.pid" "$2"; }
node_start() { # NAME BIN ARGS...
  local name="$1"
  shift
  proc_start "$NODE_DIR/$name.pid" "$NODE_DIR/$name.log" "$@"
}
node_stop() { proc_stop "$1" "$NODE_DIR/$1.pid" "$2" "${3:-20}"; }

# wait_until SECONDS WHAT NAME BIN CMD...: CMD until it succeeds; fails early when NAME died.
wait_until() {
  local limit="$1" what="$2" name="$3" bin="$4"
  shift 4
  if is_dry_run; then
    printf '  # wait up to %ss for %s\n' "$limit" "$what"
    return 0
  fi
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$name" ]] && ! node_pid "$name" "$bin" >/dev/null; then
      tail -n 25 "$NODE_DIR/$name.log" >&2 || true
      die "$name exited while waiting for $what (log: $NODE_DIR/$name.log)"
    fi
    ((SECONDS < deadline)) || {
      [[ -n "$name" ]] && tail -n 25 "$NODE_DIR/$name.log" >&2
      die "timed out after ${limit}s waiting for $what"
    }
    sleep 1
  done
}
