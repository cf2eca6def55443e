#!/usr/bin/env bash
# Builds the binaries of the end-to-end tests and `make demo` from the Go
# modules pinned in test/e2e/tools, and caches them outside the work tree so
# fresh clones on the same machine reuse them:
#   control plane  etcd, kube-apiserver, kube-controller-manager,
#                  kube-scheduler, kubectl
#   node (Linux)   kubelet, kube-proxy, containerd, containerd-shim-runc-v2,
#                  ctr, and the CNI plugins bridge, host-local, loopback,
#                  portmap in bin/cni
#   charts         helm (4), helm3
# runc is not built: without cgo and libseccomp it fails every sandbox
# (containerd always gives the pause container a seccomp profile), so Debian's
# package is used, as is iptables for kube-proxy; each is installed when
# missing and we are root with apt-get.
#
# Every Kubernetes version has its own directory in the cache, side by side:
# the default one is pinned by test/e2e/tools/go.mod, the others each by
# test/e2e/tools/kubernetes-<minor>/go.mod. etcd, containerd, the CNI plugins
# and helm are the same for every version (docs/development.md says why).
#
# Idempotent: when the cache has every binary asked for and its stamp matches
# the pins, it only prints the directory; otherwise it builds what is missing.
# Progress goes to stderr; stdout is exactly one line, the bin directory, so
# callers can do BIN=$(hack/k8s-binaries.sh).
#
# Usage: hack/k8s-binaries.sh [--control-plane | --versions]
#   --control-plane  build only what a control plane without a node needs
#   --versions       print the pinned Kubernetes versions, one a line, and exit
#
# Environment:
#   TANDEM_K8S_VERSION  the Kubernetes version: a pinned minor (1.30) or its exact
#                       pin (1.30.14, v1.30.14); default the line below
#   TANDEM_K8S_CACHE    cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/tandem/k8s)
set -euo pipefail

# The bin directory is named after the first two; test/e2e/controlplane
# computes the same name (and a test reads this exact line).
K8S_VERSION=v1.37.2 ETCD_VERSION=v3.6.16
CONTAINERD_VERSION=v2.4.2 CNI_VERSION=v1.10.0 HELM_VERSION=v4.3.1 HELM3_VERSION=v3.22.0

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$root/test/e2e/tools

log() { echo "k8s-binaries: $*" >&2; }

only_control_plane=false
case ${1:-} in
"") ;;
--control-plane) only_control_plane=true ;;
--versions)
	for mod in "$tools/go.mod" "$tools"/kubernetes-*/go.mod; do
		awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$mod"
	done | sort -V
	exit 0
	;;
*)
	log "unknown argument $1; usage: $0 [--control-plane | --versions]"
	exit 2
	;;
esac

# The module that pins the Kubernetes commands of the version asked for.
k8s_tools=$tools
if [[ -n ${TANDEM_K8S_VERSION:-} ]]; then
	asked=${TANDEM_K8S_VERSION#v}
	if [[ ! $asked =~ ^1\.[0-9]+(\.[0-9]+)?$ ]]; then
		log "TANDEM_K8S_VERSION=$TANDEM_K8S_VERSION is not a Kubernetes version such as 1.30 or 1.30.14"
		exit 2
	fi
	minor=$(cut -d. -f1,2 <<<"$asked")
	default_minor=$(cut -d. -f1,2 <<<"${K8S_VERSION#v}")
	if [[ $minor != "$default_minor" ]]; then
		k8s_tools=$tools/kubernetes-$minor
		if [[ ! -f $k8s_tools/go.mod ]]; then
			log "Kubernetes $minor is not pinned; the pinned versions are: $("$0" --versions | tr '\n' ' ')(to add one, copy test/e2e/tools/kubernetes-1.30 as docs/development.md says)"
			exit 2
		fi
		K8S_VERSION=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$k8s_tools/go.mod")
	fi
	if [[ $asked == *.*.* && v$asked != "$K8S_VERSION" ]]; then
		log "Kubernetes $asked is not pinned; the pinned $minor is $K8S_VERSION (TANDEM_K8S_VERSION=$minor)"
		exit 2
	fi
fi

cache=${TANDEM_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem/k8s}
dest=$cache/$K8S_VERSION-etcd${ETCD_VERSION#v}
bin=$dest/bin

# kubelet, the containerd shim and runc exist for Linux only; elsewhere (a
# macOS laptop) the control plane alone is still useful.
node=false
[[ $(uname -s) == Linux ]] && node=true
# The stamp does not depend on what is asked for: --control-plane builds part
# of the same set, and a later run adds the rest.
node_asked=$node
$only_control_plane && node_asked=false

control_plane=(etcd kube-apiserver kube-controller-manager kubectl helm helm3)
node_binaries=(kube-scheduler kubelet kube-proxy containerd containerd-shim-runc-v2 ctr)
# Under github.com/containernetworking/plugins/plugins; built into bin/cni.
cni_plugins=(main/bridge ipam/host-local main/loopback meta/portmap)
binaries=("${control_plane[@]}")
if $node_asked; then
	binaries+=("${node_binaries[@]}")
	for p in "${cni_plugins[@]}"; do binaries+=("cni/${p##*/}"); done
fi
# Every module built from; the stamp covers their go.mod and go.sum.
modules=("$k8s_tools" "$tools/etcd" "$tools/containerd" "$tools/cni" "$tools/helm" "$tools/helm3")

# -mod=readonly: a stale go.sum must fail loudly instead of being rewritten.
goflags=(-trimpath -buildvcs=false -mod=readonly)

etcd_ldflags="-s -w"
# Without these the Kubernetes binaries report v0.0.0-master+$Format:%H$,
# which kubectl and version-skew checks reject.
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	k8s_ldflags+=" -X $pkg.gitTreeState=clean"
done
# As containerd's Makefile does; otherwise `containerd --version` says
# "2.4.2+unknown".
containerd_ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
# Snapshotters we do not use (overlayfs is built in): btrfs and zfs need cgo or
# host tools, devmapper a thin pool.
containerd_tags="no_btrfs no_devmapper no_zfs"
# The shim speaks ttrpc only; containerd's Makefile builds it with no_grpc too,
# which drops a third of its packages (one shim runs per pod).
shim_tags="$containerd_tags no_grpc"
# As the plugins' release workflow does; otherwise they report "version unknown".
cni_ldflags="-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_VERSION"
# As helm's Makefile does; otherwise `helm version` says v4.3 with no patch.
helm_ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
# And, as Helm 3's Makefile does, the Kubernetes version `helm template` assumes
# offline: that of its client-go (v0.37.0 is Kubernetes 1.37), not its fallback 1.20.
helm3_k8s_minor=$(awk '$1 == "k8s.io/client-go" { split($2, v, "."); print v[2] }' "$tools/helm3/go.mod")
helm3_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
	helm3_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm3_k8s_minor"
done

sha256() {
	if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi
}

# The stamp changes whenever a pin, a go.mod, a go.sum or the build flags
# change.
stamp() {
	local m
	{
		echo "$K8S_VERSION $ETCD_VERSION $CONTAINERD_VERSION $CNI_VERSION $HELM_VERSION $HELM3_VERSION $node"
		echo "${goflags[*]} | $etcd_ldflags | $k8s_ldflags"
		echo "$containerd_ldflags | $containerd_tags | $shim_tags | $cni_ldflags | $helm_ldflags | $helm3_ldflags"
		for m in "${modules[@]}"; do cat "$m/go.mod" "$m/go.sum"; done
	} | sha256 | cut -d' ' -f1
}

cache_ok() {
	local b
	for b in "${binaries[@]}"; do [[ -x $bin/$b ]] || return 1; done
	[[ -f $bin/.stamp && $(<"$bin/.stamp") == "$want" ]]
}

# The version constants above only feed -X flags: fail before building if a
# go.mod requires another version, or the binaries would misreport theirs.
check_pin() { # module-dir module-path version
	awk -v m="$2" -v v="$3" '($1 == "require" && $2 == m && $3 == v) || ($1 == m && $2 == v) { found = 1 }
		END { exit !found }' "$1/go.mod" && return
	log "$1/go.mod does not require $2 $3; update the version constants in $0 or the go.mod"
	exit 1
}

# runc and iptables (which kube-proxy drives) come from the distribution, not
# the cache: the node harness looks for them on PATH (and has its own
# preflight), so a missing one is reported here but does not fail the build.
ensure_package() { # command package
	command -v "$1" >/dev/null && return
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		log "$1 is not on PATH; the node tests need it: install Debian's package $2 (apt-get install $2) as root"
		return
	fi
	log "$1 is not on PATH; installing Debian's package $2"
	# Lock timeout: parallel CI jobs may run this at the same time. Only when
	# the install fails is the (slow) package index refreshed and retried.
	local install=(apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 "$2")
	if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >&2; then
		log "installing $2 failed; running apt-get update and retrying"
		apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${install[@]}" >&2 || true
	fi
	if command -v "$1" >/dev/null; then
		log "installed $2: $(command -v "$1")"
	else
		log "could not install Debian's package $2; the node tests need $1 on PATH"
	fi
}

if $node_asked; then
	ensure_package runc runc
	ensure_package iptables-restore iptables
fi

want=$(stamp)
if cache_ok; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dest"
# Serialize concurrent builds (parallel CI jobs); the winner fills the cache.
if command -v flock >/dev/null; then
	exec 9>"$dest/.lock"
	if ! flock -n 9; then
		log "waiting for the build of $bin under way"
		flock 9
	fi
	if cache_ok; then
		echo "$bin"
		exit 0
	fi
	# Holding the lock, any leftover temp dir belongs to a killed build.
	rm -rf "$dest"/.build.*
fi

check_pin "$k8s_tools" k8s.io/kubernetes "$K8S_VERSION"
check_pin "$tools/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
check_pin "$tools/containerd" github.com/containerd/containerd/v2 "$CONTAINERD_VERSION"
check_pin "$tools/cni" github.com/containernetworking/plugins "$CNI_VERSION"
check_pin "$tools/helm" helm.sh/helm/v4 "$HELM_VERSION"
check_pin "$tools/helm3" helm.sh/helm/v3 "$HELM3_VERSION"

# A stale stamp means every binary is rebuilt; a matching one that lacks some
# (a --control-plane cache asked for the node) means those are added.
if [[ -f $bin/.stamp && $(<"$bin/.stamp") == "$want" ]]; then
	have=()
	for b in "${binaries[@]}"; do [[ -x $bin/$b ]] && have+=("$b"); done
else
	have=()
	rm -rf "$bin"
fi
wanted() { # name: asked for and not in the cache yet
	[[ " ${binaries[*]} " == *" $1 "* && " ${have[*]} " != *" $1 "* ]]
}

# Build into a temp dir on the same filesystem and rename each binary into
# place, the stamp last, so an interrupted build never leaves a cache that
# looks complete.
tmp=$(mktemp -d "$dest/.build.XXXXXX")
chmod 755 "$tmp" # mktemp creates it 0700
trap 'rm -rf "$tmp"' EXIT
# If only this script is signalled (e.g. a CI timeout), stop the build too.
child=
trap '[[ -z $child ]] || kill "$child" 2>/dev/null; exit 130' INT TERM

build() { # name module-dir package [go build flags...]
	local name=$1 dir=$2 pkg=$3 start=$SECONDS
	shift 3
	wanted "$name" || return 0
	log "building $name ($pkg) ..."
	mkdir -p "$(dirname "$tmp/$name")"
	# In the background so the trap above can run while go build works.
	(cd "$dir" && CGO_ENABLED=0 GOWORK=off exec go build "${goflags[@]}" "$@" -o "$tmp/$name" "$pkg") &
	child=$!
	wait "$child"
	child=
	log "built $name in $((SECONDS - start))s"
}

total=$SECONDS
log "cache miss in $bin; a cold build of every binary takes 15 to 25 minutes on two cores"
build etcd "$tools/etcd" go.etcd.io/etcd/server/v3 -ldflags "$etcd_ldflags"
for cmd in kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet kube-proxy; do
	build "$cmd" "$k8s_tools" "k8s.io/kubernetes/cmd/$cmd" -ldflags "$k8s_ldflags"
done
build helm "$tools/helm" helm.sh/helm/v4/cmd/helm -ldflags "$helm_ldflags"
build helm3 "$tools/helm3" helm.sh/helm/v3/cmd/helm -ldflags "$helm3_ldflags"
for cmd in containerd ctr; do
	build "$cmd" "$tools/containerd" "github.com/containerd/containerd/v2/cmd/$cmd" \
		-tags "$containerd_tags" -ldflags "$containerd_ldflags"
done
build containerd-shim-runc-v2 "$tools/containerd" github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
	-tags "$shim_tags" -ldflags "$containerd_ldflags"
for p in "${cni_plugins[@]}"; do
	build "cni/${p##*/}" "$tools/cni" "github.com/containernetworking/plugins/plugins/$p" -ldflags "$cni_ldflags"
done

mkdir -p "$bin/cni"
rm -f "$bin/.stamp"
for f in $(cd "$tmp" && find . -type f -printf '%P\n'); do
	mv "$tmp/$f" "$bin/$f"
done
echo "$want" >"$bin/.stamp"
log "built in $((SECONDS - total))s"
echo "$bin"
