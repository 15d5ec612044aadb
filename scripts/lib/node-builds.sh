# shellcheck shell=bash
# How scripts/node-build.sh and scripts/node-images.sh build the node's Go programs (one call
# each, so both find the same cache entry). Source after common.sh, gobuild.sh and node-env.sh,
# and load_chart_env (the Operator version). Each build_NAME prints its bin directory.

build_containerd() {
  GOBUILD_TAGS="no_btrfs no_devmapper no_zfs" \
    GOBUILD_LDFLAGS="-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    gobuild_cached containerd "$CONTAINERD_VERSION" github.com/containerd/containerd/v2 \
    github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/ctr \
    github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
}

build_cni() {
  local p=github.com/containernetworking/plugins
  GOBUILD_LDFLAGS="-X $p/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    gobuild_cached cni-plugins "$CNI_PLUGINS_VERSION" "$p" \
    "$p/plugins/main/bridge" "$p/plugins/main/loopback" "$p/plugins/ipam/host-local" "$p/plugins/meta/portmap"
}

build_crictl() {
  GOBUILD_LDFLAGS="-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION#v}" \
    gobuild_cached crictl "$CRICTL_VERSION" sigs.k8s.io/cri-tools sigs.k8s.io/cri-tools/cmd/crictl
}

build_crane() {
  gobuild_cached crane "$CRANE_VERSION" github.com/google/go-containerregistry \
    github.com/google/go-containerregistry/cmd/crane
}

# CoreDNS with only the plugins the node's Corefile uses (the CoreDNS way to trim a build: a
# main that imports coremain and those plugins and sets the directives in plugin.cfg order);
# the full plugin set (cloud DNS providers and their SDKs) takes several times longer to build.
COREDNS_PLUGINS=(reload ready health metrics errors log loadbalance cache kubernetes loop)
COREDNS_DIRECTIVES=(reload ready health prometheus errors log loadbalance cache kubernetes loop)
coredns_main() {
  local p d
  {
    printf 'package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
'
    for p in "${COREDNS_PLUGINS[@]}"; do printf '	_ "github.com/coredns/coredns/plugin/%s"
' "$p"; done
    printf ')

func init() {
	dnsserver.Directives = []string{
'
    for d in "${COREDNS_DIRECTIVES[@]}"; do printf '		"%s",
' "$d"; done
    printf '	}
}

func main() { coremain.Run() }
'
  } >"$1/main.go"
}

build_coredns() {
  GOBUILD_PREPARE=coredns_main gobuild_cached coredns "$COREDNS_VERSION" github.com/coredns/coredns volwatch.local/build/coredns
}

# `go build` leaves Helm's version empty and its default Kubernetes version at 1.20.
build_helm() {
  local minor="${NODE_K8S_VERSION#1.}"
  minor="${minor%%.*}"
  GOBUILD_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
    gobuild_cached helm "$HELM_VERSION" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm
}

build_operator() {
  local m=github.com/prometheus-operator/prometheus-operator
  GOBUILD_LDFLAGS="-X github.com/prometheus/common/version.Version=${OPERATOR_VERSION#v}" \
    gobuild_cached prometheus-operator "$OPERATOR_VERSION" "$m" "$m/cmd/operator" "$m/cmd/prometheus-config-reloader"
}

