#!/usr/bin/env bash
# Stops the node scripts/node-up.sh started and removes everything it put on the host:
# pods (through the CRI, so CNI releases their network), containerd and its shims, the
# kubelet, kube-proxy and its iptables rules, the control plane, mounts, network namespaces,
# the bridge, cgroups, sysctls and directories it created. Ends by checking that none of it
# is left and fails, naming what is, otherwise. Safe to run when nothing is up.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/gobuild.sh
source "$VOLWATCH_ROOT/scripts/lib/gobuild.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-env.sh
source "$VOLWATCH_ROOT/scripts/lib/node-env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-host.sh
source "$VOLWATCH_ROOT/scripts/lib/node-host.sh"

usage() {
  cat <<USAGE
usage: scripts/node-down.sh [--dry-run] [--check]
  --check    change nothing; list what of the node is still on the host (exit 1 if anything)
  --dry-run  print the commands instead of running them
USAGE
}

CHECK_ONLY=0
parse_args '--check:CHECK_ONLY=1' "$@"
need_tools ip iptables iptables-save findmnt
if ! is_dry_run && [[ "$(id -u)" != 0 ]]; then
  die "the node's bridge, iptables rules and mounts can only be removed by root"
fi

BIN="$NODE_K8S_BIN"
CONTAINERD_BIN="$(node_gobin containerd "$CONTAINERD_VERSION")"
CRICTL="$(node_gobin crictl "$CRICTL_VERSION")/crictl"
CONTROL_PLANE_ENV=(VOLWATCH_K8S_DIR="$NODE_DIR/k8s" VOLWATCH_K8S_ADDRESS="$NODE_IP"
  VOLWATCH_K8S_PORT=6443 VOLWATCH_ETCD_PORT=23794 VOLWATCH_K8S_VERSION="$NODE_K8S_VERSION")
# iptables chains of kube-proxy, the kubelet, CNI plugins and node-up.sh.
CHAIN_RE='^(KUBE-|CNI-|VOLWATCH-NODE-)'

# The shims of this containerd: they outlive it and are found by its socket in their arguments.
shim_pids() {
  local p cmd
  for p in /proc/[0-9]*; do
    # A process may exit between the glob and the read: no message for that.
    cmd="$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" 2>/dev/null || continue
    [[ "$cmd" == "$CONTAINERD_BIN/containerd-shim-runc-v2 "*"$NODE_CONTAINERD_SOCK"* ]] && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

node_mounts() { findmnt -rn -o TARGET | awk -v d="$NODE_DIR" 'index($0, d) == 1' | sort -r; }
cni_netns() {
  local f
  for f in /run/netns/cni-*; do [[ -e "$f" ]] && printf '%s\n' "$f"; done
  return 0
}
node_cgroups() {
  local c
  for c in /sys/fs/cgroup/*/kubepods; do [[ -d "$c" ]] && printf '%s\n' "$c"; done
  return 0
}
node_chains() { # prints "CMD TABLE CHAIN"
  local cmd table
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null 2>&1 || continue
    for table in filter nat mangle raw; do
      "$cmd" -w -t "$table" -S 2>/dev/null | awk -v c="$cmd" -v t="$table" '$1 == "-N" && $2 ~ /'"$CHAIN_RE"'/ { print c, t, $2 }'
    done
  done
}
node_procs() {
  local name bin
  for name in kubelet kube-proxy kube-controller-manager kube-scheduler; do
    node_pid "$name" "$BIN/$name" >/dev/null && printf '%s (pid %s)\n' "$name" "$(node_pid "$name" "$BIN/$name")"
  done
  node_pid containerd "$CONTAINERD_BIN/containerd" >/dev/null && printf 'containerd (pid %s)\n' "$(node_pid containerd "$CONTAINERD_BIN/containerd")"
  local p
  for p in $(shim_pids); do printf 'containerd-shim-runc-v2 (pid %s)\n' "$p"; done
  env "${CONTROL_PLANE_ENV[@]}" bash "$VOLWATCH_ROOT/scripts/control-plane.sh" status >/dev/null 2>&1 && printf 'control plane (%s)\n' "$NODE_DIR/k8s"
  return 0
}

# Everything of the node still on the host, one line each.
leftovers() {
  node_procs
  node_mounts | sed 's/^/mount /'
  cni_netns | sed 's/^/network namespace /'
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && printf 'bridge %s\n' "$NODE_BRIDGE"
  ip -o link show type veth 2>/dev/null | awk -F': ' -v b="$NODE_BRIDGE" '$0 ~ "master " b { print "veth " $2 }'
  node_chains | sed 's/^/chain /'
  node_cgroups | sed 's/^/cgroup /'
  if [[ -f "$NODE_HOST_STATE/recorded" ]]; then printf 'host settings not restored (%s)\n' "$NODE_HOST_STATE"; fi
  return 0
}

check() {
  local left
  left="$(leftovers)"
  if [[ -n "$left" ]]; then
    printf '%s\n' "$left" >&2
    return 1
  fi
}

if ((CHECK_ONLY)); then
  check || die "the node left the above on this host"
  log "nothing of the node is left on this host"
  exit 0
fi

# 1. No new pods: scheduler and controllers first, then the kubelet.
for name in kube-scheduler kube-controller-manager kubelet; do
  node_stop "$name" "$BIN/$name" 30
done

# 2. Pods, through the CRI: containerd stops them and CNI releases their addresses and veths.
if is_dry_run || { [[ -S "$NODE_CONTAINERD_SOCK" ]] && node_pid containerd "$CONTAINERD_BIN/containerd" >/dev/null; }; then
  if is_dry_run; then
    run "$CRICTL" --runtime-endpoint "unix://$NODE_CONTAINERD_SOCK" --timeout 60s rmp --all --force
  elif [[ -x "$CRICTL" ]]; then
    "$CRICTL" --runtime-endpoint "unix://$NODE_CONTAINERD_SOCK" --timeout 60s rmp --all --force >/dev/null || warn "crictl rmp failed; continuing"
  else
    warn "$CRICTL is missing (scripts/node-build.sh builds it): pods are killed with containerd instead"
  fi
fi
node_stop containerd "$CONTAINERD_BIN/containerd" 30
for pid in $(shim_pids); do
  warn "killing containerd-shim-runc-v2 pid $pid left by containerd"
  run kill -KILL "$pid"
done

# 3. kube-proxy and its rules, then every chain of the node (kube-proxy --cleanup leaves the
#    kubelet's canaries and KUBE-FIREWALL; CNI's portmap leaves empty chains).
node_stop kube-proxy "$BIN/kube-proxy" 30
if [[ -x "$BIN/kube-proxy" ]] && ! is_dry_run && node_chains | grep -q .; then
  "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
fi
remove_chains() {
  local cmd table chain rule
  while read -r cmd table chain; do
    # Jumps into the chain from other chains, then the chain itself.
    while read -r rule; do
      [[ -n "$rule" ]] || continue
      # shellcheck disable=SC2086 # the rule is iptables-save syntax, split into words
      run "$cmd" -w -t "$table" -D ${rule#-A }
    done < <("$cmd" -w -t "$table" -S 2>/dev/null | awk -v ch="$chain" '$1 == "-A" && $2 != ch && / -[jg] / { for (i = 3; i <= NF; i++) if (($i == "-j" || $i == "-g") && $(i + 1) == ch) { print; break } }')
    run "$cmd" -w -t "$table" -F "$chain"
  done < <(node_chains)
  while read -r cmd table chain; do
    run "$cmd" -w -t "$table" -X "$chain"
  done < <(node_chains)
}
remove_chains

# 4. The control plane.
if is_dry_run; then
  run env "${CONTROL_PLANE_ENV[@]}" bash "$VOLWATCH_ROOT/scripts/control-plane.sh" stop
else
  env "${CONTROL_PLANE_ENV[@]}" bash "$VOLWATCH_ROOT/scripts/control-plane.sh" stop >/dev/null
fi

# 5. Mounts (the kubelet's root, volumes, container root filesystems), network namespaces,
#    the bridge and cgroups.
while read -r m; do
  [[ -n "$m" ]] || continue
  run umount "$m" 2>/dev/null || run umount -l "$m"
done < <(node_mounts)
while read -r ns; do
  [[ -n "$ns" ]] || continue
  run umount "$ns" 2>/dev/null || true
  run rm -f "$ns"
done < <(cni_netns)
if is_dry_run || ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  run ip link delete "$NODE_BRIDGE"
fi
while read -r cg; do
  [[ -n "$cg" ]] || continue
  if is_dry_run; then
    print_cmd find "$cg" -depth -type d -exec rmdir '{}' +
  else
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || warn "could not remove every cgroup under $cg"
  fi
done < <(node_cgroups)

# 6. Kernel settings and directories, as they were before node-up.sh.
restore_host_state

is_dry_run && exit 0
check || die "the node left the above on this host"
log "node stopped; nothing of it is left on this host"
