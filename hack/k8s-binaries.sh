#!/usr/bin/env bash
# Builds the real control-plane binaries used by the end-to-end tests and
# `make demo` (etcd, kube-apiserver, kube-controller-manager, kubectl) from the
# Go modules pinned in test/e2e/tools, and caches them outside the work tree so
# fresh clones on the same machine reuse them.
#
# Idempotent: when the cache is complete and its stamp matches the pins, it
# only prints the directory. Progress goes to stderr; stdout is exactly one
# line, the bin directory, so callers can do BIN=$(hack/k8s-binaries.sh).
#
# Environment:
#   TANDEM_K8S_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/tandem/k8s)
set -euo pipefail

K8S_VERSION=v1.37.2 ETCD_VERSION=v3.6.16

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$root/test/e2e/tools
cache=${TANDEM_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem/k8s}
dest=$cache/$K8S_VERSION-etcd${ETCD_VERSION#v}
bin=$dest/bin
binaries=(etcd kube-apiserver kube-controller-manager kubectl)

# Without these the binaries report v0.0.0-master+$Format:%H$, which kubectl
# and version-skew checks reject.
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	ldflags+=" -X $pkg.gitTreeState=clean"
done
# -mod=readonly: a stale go.sum must fail loudly instead of being rewritten.
buildflags=(-trimpath -buildvcs=false -mod=readonly -ldflags "$ldflags")

log() { echo "k8s-binaries: $*" >&2; }

sha256() {
	if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi
}

# The stamp changes whenever a pin, a go.sum or the build flags change.
stamp() {
	{
		echo "$K8S_VERSION $ETCD_VERSION ${buildflags[*]}"
		cat "$tools/go.mod" "$tools/go.sum" "$tools/etcd/go.mod" "$tools/etcd/go.sum"
	} | sha256 | cut -d' ' -f1
}

cache_ok() {
	local b
	for b in "${binaries[@]}"; do [[ -x $bin/$b ]] || return 1; done
	[[ -f $bin/.stamp && $(<"$bin/.stamp") == "$want" ]]
}

want=$(stamp)
if cache_ok; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dest"
# Serialize concurrent builds (parallel CI jobs); the winner fills the cache.
if command -v flock >/dev/null; then
	exec 9>"$dest/.lock"
	flock 9
	if cache_ok; then
		echo "$bin"
		exit 0
	fi
	# Holding the lock, any leftover temp dir belongs to a killed build.
	rm -rf "$dest"/.build.*
fi

# Build into a temp dir on the same filesystem and rename it into place, so
# an interrupted build never leaves a half-populated cache behind.
tmp=$(mktemp -d "$dest/.build.XXXXXX")
chmod 755 "$tmp" # mktemp creates it 0700
trap 'rm -rf "$tmp"' EXIT
# If only this script is signalled (e.g. a CI timeout), stop the build too.
child=
trap '[[ -z $child ]] || kill "$child" 2>/dev/null; exit 130' INT TERM

build() { # name module-dir package
	local start=$SECONDS
	log "building $1 ($3) ..."
	# In the background so the trap above can run while go build works.
	(cd "$2" && CGO_ENABLED=0 GOWORK=off exec go build "${buildflags[@]}" -o "$tmp/$1" "$3") &
	child=$!
	wait "$child"
	child=
	log "built $1 in $((SECONDS - start))s"
}

total=$SECONDS
log "cache miss in $bin; cold builds take several minutes"
build etcd "$tools/etcd" go.etcd.io/etcd/server/v3
build kube-apiserver "$tools" k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager "$tools" k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl "$tools" k8s.io/kubernetes/cmd/kubectl
echo "$want" >"$tmp/.stamp"

if [[ -e $bin ]]; then
	mv "$bin" "$tmp.old"
	rm -rf "$tmp.old"
fi
mv "$tmp" "$bin"
log "all binaries built in $((SECONDS - total))s"
echo "$bin"
