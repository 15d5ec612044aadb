# shellcheck shell=bash disable=SC2034  # the variables are read by the scripts that source this file
# The one place the local Kubernetes node (scripts/node-*.sh) is pinned and laid out.
# Source after scripts/lib/common.sh.

# Versions of what scripts/node-build.sh builds from the Go module proxy. The Kubernetes
# binaries follow scripts/control-plane.sh (VOLWATCH_K8S_VERSION); Prometheus and
# Alertmanager follow scripts/monitoring-tools.sh; the Operator and the images' tags
# follow kube-prometheus-stack (charts/kube-prometheus-stack/chart.env).
CONTAINERD_VERSION=v2.4.2
CNI_PLUGINS_VERSION=v1.10.0
# The CoreDNS release kubeadm 1.34 deploys.
COREDNS_VERSION=v1.12.1
CRICTL_VERSION=v1.34.0
CRANE_VERSION=v0.20.6
HELM_VERSION=v3.22.0
# containerd 2.4's default sandbox image; built locally (scripts/node-build.sh images).
PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
COREDNS_IMAGE="registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
# Debian release of every image's root filesystem (the Dockerfile's runtime base too).
DEBIAN_SUITE=trixie
DEBIAN_MIRROR=${VOLWATCH_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Addresses: private ranges, inside this VM only. The bridge's address is the node's
# InternalIP and the API server's advertised address, so pods reach both.
NODE_NAME=volwatch-node
NODE_BRIDGE=volwatch0
NODE_POD_CIDR=10.244.0.0/16
NODE_POD_SUBNET=10.244.0.0/24
NODE_IP=10.244.0.1
NODE_SERVICE_CIDR=10.96.0.0/16
NODE_DNS_IP=10.96.0.10
NODE_CLUSTER_DOMAIN=cluster.local

NODE_DIR="${VOLWATCH_NODE_DIR:-$VOLWATCH_ROOT/.work/node}"
NODE_CACHE_DIR="${VOLWATCH_CACHE_DIR:-$HOME/.cache/volwatch}"
NODE_K8S_VERSION="${VOLWATCH_K8S_VERSION:-1.34.4}"
NODE_K8S_BIN="$NODE_CACHE_DIR/k8s-build/v$NODE_K8S_VERSION/bin"
NODE_IMAGE_CACHE="$NODE_CACHE_DIR/images"
# containerd's socket and the kubeconfig users and scripts pass around.
NODE_CONTAINERD_SOCK="$NODE_DIR/run/containerd.sock"
NODE_KUBECONFIG="$NODE_DIR/kubeconfig"
NODE_CONTEXT=volwatch-node

# gobuild.sh cache directories (bin/ below each) of the node's Go programs.
node_gobin() { printf '%s/bin\n' "$(gobuild_dir "$1" "$2")"; }
