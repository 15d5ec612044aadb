#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, without Docker or kind: etcd and
# kube-apiserver (scripts/control-plane.sh), containerd with runc and the CNI bridge, kubelet,
# kube-proxy, kube-controller-manager, kube-scheduler and CoreDNS; then kube-prometheus-stack
# installed by Helm and manifests/ applied the way scripts/kind-up.sh does. Idempotent: a
# second run finds every running piece and only finishes what is missing.
# Needs root (it creates a bridge, iptables rules, mounts and cgroups); scripts/node-down.sh
# removes all of it. Everything it keeps lives under .work/node (VOLWATCH_NODE_DIR).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/gobuild.sh
source "$VOLWATCH_ROOT/scripts/lib/gobuild.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-env.sh
source "$VOLWATCH_ROOT/scripts/lib/node-env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/node-host.sh
source "$VOLWATCH_ROOT/scripts/lib/node-host.sh"
# shellcheck source-path=SCRIPTDIR source=lib/k8s-pki.sh
source "$VOLWATCH_ROOT/scripts/lib/k8s-pki.sh"

usage() {
  cat <<USAGE
usage: scripts/node-up.sh [--dry-run] [--node-only] [--manifests DIR] [--timeout SECONDS]
  --node-only        bring up the node (control plane, containerd, kubelet, kube-proxy,
                     controller-manager, scheduler, CoreDNS) without the chart and manifests
  --manifests DIR    synthesized manifests to apply (default: manifests/)
  --timeout SECONDS  how long each rollout may take (default: 600)
  --dry-run          print the commands instead of running them (missing tools only warn)
Then: KUBECONFIG=$NODE_KUBECONFIG kubectl get pods -A
      scripts/cluster-smoke.sh --kubeconfig $NODE_KUBECONFIG
      scripts/node-down.sh
USAGE
}

NODE_ONLY=0
MANIFESTS="$VOLWATCH_ROOT/manifests"
TIMEOUT=600
parse_args '--node-only:NODE_ONLY=1 --manifests=MANIFESTS --timeout=TIMEOUT' "$@"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds, got $TIMEOUT"
((NODE_ONLY)) || [[ -d "$MANIFESTS" ]] || die "manifest directory $MANIFESTS not found: run npm run synth"
load_chart_env

need_tools ip iptables iptables-save runc mount umount openssl curl setsid base64 mmdebstrap npm
if ! is_dry_run && [[ "$(id -u)" != 0 ]]; then
  die "the node needs root: it creates a network bridge, iptables rules, mounts and cgroups (run it as root in a VM)"
fi

BIN="$NODE_K8S_BIN"
CONTAINERD_BIN="$(node_gobin containerd "$CONTAINERD_VERSION")"
CNI_BIN="$(node_gobin cni-plugins "$CNI_PLUGINS_VERSION")"
HELM_BIN="$(node_gobin helm "$HELM_VERSION")/helm"
PKI="$NODE_DIR/k8s/pki"
API_PORT=6443
# Not 23790: scripts/test-k8s.sh's control plane may run beside the node.
ETCD_PORT=23794
API_SERVER="https://$NODE_IP:$API_PORT"
CONTROL_PLANE_ENV=(VOLWATCH_K8S_DIR="$NODE_DIR/k8s" VOLWATCH_K8S_ADDRESS="$NODE_IP"
  VOLWATCH_K8S_PORT="$API_PORT" VOLWATCH_ETCD_PORT="$ETCD_PORT" VOLWATCH_K8S_VERSION="$NODE_K8S_VERSION")
KUBECTL=("$BIN/kubectl" --kubeconfig "$NODE_KUBECONFIG" --context "$NODE_CONTEXT")
HELM=("$HELM_BIN" --kubeconfig "$NODE_KUBECONFIG" --kube-context "$NODE_CONTEXT")

step() { log "$*"; }

# ---- 1. binaries and images ----------------------------------------------------------------
build_all() {
  step "1/8 binaries and images (built once, cached in $NODE_CACHE_DIR)"
  run bash "$VOLWATCH_ROOT/scripts/node-build.sh" all
}

# ---- 2. host network -------------------------------------------------------------------------
setup_network() {
  step "2/8 host network: bridge $NODE_BRIDGE $NODE_IP on $NODE_POD_SUBNET, forwarding, bridge netfilter"
  run mkdir -p "$NODE_DIR"
  record_host_state
  if ! is_dry_run && [[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    modprobe br_netfilter 2>/dev/null ||
      die "/proc/sys/net/bridge is missing and 'modprobe br_netfilter' failed: the kernel needs br_netfilter for Services between pods on the bridge"
  fi
  set_sysctl net.ipv4.ip_forward 1
  set_sysctl net.bridge.bridge-nf-call-iptables 1
  if is_dry_run || ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    run ip link add "$NODE_BRIDGE" type bridge
  fi
  if is_dry_run || ! ip -4 addr show dev "$NODE_BRIDGE" | grep -q "inet $NODE_IP/"; then
    run ip addr add "$NODE_IP/${NODE_POD_SUBNET#*/}" dev "$NODE_BRIDGE"
  fi
  run ip link set "$NODE_BRIDGE" up
  # Pods talk to each other, to Services and to this node, never beyond: forwarded traffic from
  # the pod range to anywhere else is dropped (the pods' addresses are private to this VM).
  if is_dry_run || ! iptables -w -S VOLWATCH-NODE-FORWARD >/dev/null 2>&1; then
    run iptables -w -N VOLWATCH-NODE-FORWARD
    run iptables -w -A VOLWATCH-NODE-FORWARD -s "$NODE_POD_CIDR" ! -d "$NODE_POD_CIDR" -j DROP
  fi
  if is_dry_run || ! iptables -w -C FORWARD -j VOLWATCH-NODE-FORWARD 2>/dev/null; then
    run iptables -w -I FORWARD 1 -j VOLWATCH-NODE-FORWARD
  fi
}

# ---- 3. control plane and credentials ----------------------------------------------------------
start_control_plane() {
  step "3/8 etcd and kube-apiserver on $API_SERVER"
  local cp=(env "${CONTROL_PLANE_ENV[@]}" bash "$VOLWATCH_ROOT/scripts/control-plane.sh")
  if is_dry_run; then
    run "${cp[@]}" start
    "${cp[@]}" --dry-run start
  else
    "${cp[@]}" start
  fi
  # Each component its own identity: the Node authorizer and NodeRestriction see the kubelet
  # as system:node:NAME; the others get their built-in RBAC roles.
  pki_cert "$PKI" kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  pki_cert "$PKI" kubelet-serving "/CN=$NODE_NAME" serverAuth "IP:$NODE_IP,DNS:$NODE_NAME"
  pki_cert "$PKI" kube-controller-manager /CN=system:kube-controller-manager clientAuth
  pki_cert "$PKI" kube-scheduler /CN=system:kube-scheduler clientAuth
  pki_cert "$PKI" kube-proxy /CN=system:kube-proxy clientAuth
  local c
  for c in kubelet kube-controller-manager kube-scheduler kube-proxy; do
    pki_kubeconfig "$NODE_DIR/$c.kubeconfig" "$API_SERVER" "$PKI" "$c" "$NODE_CONTEXT"
  done
  pki_kubeconfig "$NODE_KUBECONFIG" "$API_SERVER" "$PKI" admin "$NODE_CONTEXT"
}

# ---- 4. containerd -------------------------------------------------------------------------------
write_containerd_config() {
  local cfg="$NODE_DIR/containerd/config.toml"
  if is_dry_run; then
    printf '+ (write %s: root and state under %s, socket %s, CNI from %s, sandbox %s, restrict_oom_score_adj)\n' \
      "$cfg" "$NODE_DIR/containerd" "$NODE_CONTAINERD_SOCK" "$CNI_BIN" "$PAUSE_IMAGE"
    return 0
  fi
  mkdir -p "$NODE_DIR/containerd" "$NODE_DIR/run" "$NODE_DIR/cni/net.d"
  cat >"$cfg" <<EOF
version = 3
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$NODE_CONTAINERD_SOCK"

[ttrpc]
  address = "$NODE_DIR/run/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "$PAUSE_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  # This VM lacks CAP_SYS_RESOURCE: without it every sandbox fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true

[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["$CNI_BIN"]
  conf_dir = "$NODE_DIR/cni/net.d"
EOF
  # The bridge exists already (with the API server's address on it); host-local keeps its
  # leases under .work. No ipMasq: pods never leave this VM.
  cat >"$NODE_DIR/cni/net.d/10-volwatch.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "volwatch",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$NODE_POD_SUBNET", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
EOF
}

containerd_ready() { "$CONTAINERD_BIN/ctr" --address "$NODE_CONTAINERD_SOCK" version; }

start_containerd() {
  step "4/8 containerd $CONTAINERD_VERSION (runc $(runc --version 2>/dev/null | sed -n '1s/runc version //p')) and the images"
  write_containerd_config
  # The runc shim must be on containerd's PATH; the CNI plugins are found through the config.
  PATH="$CONTAINERD_BIN:$PATH" node_start containerd "$CONTAINERD_BIN/containerd" --config "$NODE_DIR/containerd/config.toml"
  wait_until 60 "containerd's socket" containerd "$CONTAINERD_BIN/containerd" containerd_ready
  run bash "$VOLWATCH_ROOT/scripts/node-images.sh" import
}

# ---- 5. kubelet and kube-proxy ----------------------------------------------------------------------
write_kubelet_config() {
  local cfg="$NODE_DIR/kubelet.yaml"
  if is_dry_run; then
    printf '+ (write %s: serves on %s:10250 with webhook authn/authz, cgroupfs, cgroups v1 allowed, DNS %s)\n' "$cfg" "$NODE_IP" "$NODE_DNS_IP"
    return 0
  fi
  mkdir -p "$NODE_DIR/kubelet" "$NODE_DIR/pod-logs"
  cat >"$cfg" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization:
  mode: Webhook
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$NODE_CONTAINERD_SOCK
cgroupDriver: cgroupfs
# This VM has cgroups v1 (writable) and no swap accounting.
failCgroupV1: false
failSwapOn: false
clusterDNS: [$NODE_DNS_IP]
clusterDomain: $NODE_CLUSTER_DOMAIN
podLogsDir: $NODE_DIR/pod-logs
volumePluginDir: $NODE_DIR/kubelet/volume-plugins
# The images cannot be pulled again here: never garbage-collect them, and do not evict
# pods for a disk other engineers fill too.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
serializeImagePulls: false
maxPods: 110
EOF
}

node_ready() {
  [[ "$("${KUBECTL[@]}" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

start_node_agents() {
  step "5/8 kubelet, kube-proxy (iptables), kube-controller-manager, kube-scheduler"
  write_kubelet_config
  node_start kubelet "$BIN/kubelet" --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$NODE_DIR/kubelet.kubeconfig" \
    --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet/pki" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
  # Conntrack sysctls stay as they are (0 = leave alone); NodePorts only on the node's address.
  node_start kube-proxy "$BIN/kube-proxy" --kubeconfig "$NODE_DIR/kube-proxy.kubeconfig" \
    --hostname-override "$NODE_NAME" --proxy-mode iptables --cluster-cidr "$NODE_POD_CIDR" \
    --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 \
    --nodeport-addresses "$NODE_IP/32" --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256
  # nodeipam is off: the CNI config assigns the one node's pod range.
  node_start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$NODE_DIR/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$NODE_DIR/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$NODE_DIR/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false --controllers '*,-nodeipam' \
    --use-service-account-credentials --service-account-private-key-file "$PKI/sa.key" \
    --root-ca-file "$PKI/ca.crt" --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$NODE_SERVICE_CIDR" --cluster-name volwatch
  node_start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$NODE_DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$NODE_DIR/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$NODE_DIR/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false
  wait_until 180 "node $NODE_NAME Ready" kubelet "$BIN/kubelet" node_ready
}

# ---- 6. cluster add-ons: CoreDNS and volumes -------------------------------------------------------
coredns_manifest() {
  cat <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "system:coredns" }
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "system:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns" }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  # No forward plugin: names outside the cluster are not resolved, so nothing leaves this VM.
  Corefile: |
    .:53 {
        errors
        health {
            lameduck 5s
        }
        ready
        kubernetes $NODE_CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        prometheus :9153
        cache 30
        loop
        reload
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile: { type: RuntimeDefault }
        # Port 53 without any capability (a safe sysctl, namespaced to the pod).
        sysctls: [{ name: net.ipv4.ip_unprivileged_port_start, value: "53" }]
      containers:
        - name: coredns
          image: $COREDNS_IMAGE
          imagePullPolicy: IfNotPresent
          args: [-conf, /etc/coredns/Corefile]
          ports:
            - { name: dns, containerPort: 53, protocol: UDP }
            - { name: dns-tcp, containerPort: 53, protocol: TCP }
            - { name: metrics, containerPort: 9153, protocol: TCP }
          resources:
            requests: { cpu: 50m, memory: 64Mi }
            limits: { memory: 170Mi }
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
          livenessProbe: { httpGet: { path: /health, port: 8080 }, periodSeconds: 10, failureThreshold: 5 }
          readinessProbe: { httpGet: { path: /ready, port: 8181 }, periodSeconds: 5 }
          volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: { k8s-app: kube-dns, kubernetes.io/name: CoreDNS }
spec:
  clusterIP: $NODE_DNS_IP
  selector: { k8s-app: kube-dns }
  ports:
    - { name: dns, port: 53, targetPort: 53, protocol: UDP }
    - { name: dns-tcp, port: 53, targetPort: 53, protocol: TCP }
    - { name: metrics, port: 9153, targetPort: 9153, protocol: TCP }
EOF
}

# Volumes for PersistentVolumeClaims without a class (the Kafka StatefulSet's): there is no
# dynamic provisioner on this node, so a few hostPath volumes under .work/node wait for claims.
NODE_PV_COUNT=4
volumes_manifest() {
  local i
  for ((i = 1; i <= NODE_PV_COUNT; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata: { name: volwatch-node-pv-$i, labels: { app.kubernetes.io/managed-by: volwatch-node } }
spec:
  capacity: { storage: 10Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: { path: $NODE_DIR/volumes/pv-$i, type: Directory }
EOF
  done
}

coredns_ready() {
  [[ "$("${KUBECTL[@]}" -n kube-system get deployment coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" == 1 ]]
}

start_addons() {
  step "6/8 CoreDNS $COREDNS_VERSION on $NODE_DNS_IP, $NODE_PV_COUNT hostPath volumes"
  if is_dry_run; then
    printf '+ (CoreDNS Deployment, Service kube-dns %s, RBAC) | %s\n' "$NODE_DNS_IP" "$(print_cmd "${KUBECTL[@]}" apply -f - | cut -c3-)"
    printf '+ (PersistentVolumes volwatch-node-pv-1..%s) | %s\n' "$NODE_PV_COUNT" "$(print_cmd "${KUBECTL[@]}" apply -f - | cut -c3-)"
  else
    coredns_manifest | "${KUBECTL[@]}" apply -f - >/dev/null
    # The volumes belong to one cluster (etcd starts empty on every fresh start): data of an
    # earlier one (a Kafka log formatted with other credentials) is wiped, never reused.
    local i uid
    uid="$("${KUBECTL[@]}" get namespace kube-system -o jsonpath='{.metadata.uid}')"
    if [[ "$(cat "$NODE_DIR/volumes/cluster-uid" 2>/dev/null)" != "$uid" ]]; then
      rm -rf "$NODE_DIR/volumes"
      mkdir -p "$NODE_DIR/volumes"
      printf '%s\n' "$uid" >"$NODE_DIR/volumes/cluster-uid"
    fi
    for ((i = 1; i <= NODE_PV_COUNT; i++)); do
      # Any UID the pod runs as writes there: hostPath volumes get no fsGroup ownership.
      mkdir -p "$NODE_DIR/volumes/pv-$i"
      chmod 0777 "$NODE_DIR/volumes/pv-$i"
    done
    volumes_manifest | "${KUBECTL[@]}" apply -f - >/dev/null
  fi
  wait_until 180 "CoreDNS ready" kubelet "$BIN/kubelet" coredns_ready
}

# ---- 7. kube-prometheus-stack, 8. manifests --------------------------------------------------------
CHART_ARCHIVE="$VOLWATCH_ROOT/../shared/helm-charts/$CHART_NAME-$CHART_VERSION.tgz"
LOCAL_VALUES="$VOLWATCH_ROOT/charts/kube-prometheus-stack/values-local-node.yaml"

install_stack() {
  # shellcheck source-path=SCRIPTDIR source=lib/cluster-install.sh
  source "$VOLWATCH_ROOT/scripts/lib/cluster-install.sh"
  [[ -f "$CHART_ARCHIVE" ]] || is_dry_run ||
    die "$CHART_ARCHIVE not found: the node installs the chart from this archive (no chart repository is reachable here)"
  step "7/8 $CHART_NAME $CHART_VERSION from $CHART_ARCHIVE (values.yaml + values-local-node.yaml)"
  install_chart "$CHART_ARCHIVE" --values "$LOCAL_VALUES"
  step "8/8 manifests from $MANIFESTS"
  apply_manifests "$MANIFESTS"
  wait_rollouts "$MANIFESTS" "${TIMEOUT}s"
}

build_all
setup_network
start_control_plane
start_containerd
start_node_agents
start_addons
((NODE_ONLY)) || install_stack

is_dry_run && exit 0
cat <<DONE

The volwatch node is up (node $NODE_NAME, API server $API_SERVER).
  export KUBECONFIG=$NODE_KUBECONFIG   # context $NODE_CONTEXT
  PATH=$BIN:\$PATH kubectl get pods -A
  Smoke test:    scripts/cluster-smoke.sh --kubeconfig $NODE_KUBECONFIG
  Port-forward:  scripts/port-forward.sh --kubeconfig $NODE_KUBECONFIG
  Stop:          scripts/node-down.sh
DONE
