#!/usr/bin/env bash
# Runs the end-to-end tests on every Kubernetes version Tandem supports (the matrix
# below), each on binaries built from that version's pinned modules and cached side by
# side (hack/k8s-binaries.sh). Every version runs even when one fails; the exit status
# is that of the worst, and a summary with each version's duration ends the output.
#
# Usage: hack/e2e-versions.sh [--oldest | --build-oldest]
#   --oldest        only the oldest version's control-plane suites (part of make test)
#   --build-oldest  only build (or find cached) the binaries --oldest needs
#
# Environment: GO_TEST_FLAGS, passed to go test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What runs where: the newest every package; the others the webhook (seed scenario,
# native sidecars, reinvocation, denials, capabilities), the chart (routing on the real
# API server, the modes it refuses) and the Helm install with self-managed certificates
# (on a node); the oldest also the node scenarios (pods running, sidecar ordering, Jobs)
# and the rollout, which plans restarts there for what newer versions change in place.
control_plane="./test/e2e ./test/e2e/chart"
declare -A packages=(
	[1.37]="./test/..."
	[1.33]="$control_plane ./test/e2e/install"
	[1.30]="$control_plane ./test/e2e/install ./test/e2e/node ./test/e2e/rollout"
)
oldest=1.30

case ${1:-} in
"") versions=(1.37 1.33 1.30) ;;
--oldest)
	versions=("$oldest")
	packages[$oldest]=$control_plane
	;;
--build-oldest)
	TANDEM_K8S_VERSION=$oldest exec hack/k8s-binaries.sh --control-plane
	;;
*)
	echo "usage: $0 [--oldest | --build-oldest]" >&2
	exit 2
	;;
esac

summary=()
status=0
for v in "${versions[@]}"; do
	# Only what the packages need: the control plane alone builds in half the time.
	build=()
	[[ ${packages[$v]} == "$control_plane" ]] && build=(--control-plane)
	start=$SECONDS
	echo "== Kubernetes $v: ${packages[$v]}" >&2
	if bin=$(TANDEM_K8S_VERSION=$v hack/k8s-binaries.sh "${build[@]}"); then
		built=$((SECONDS - start))
		# shellcheck disable=SC2086 # the package list splits on purpose
		if TANDEM_K8S_VERSION=$v TANDEM_K8S_BIN_DIR=$bin go test -count=1 -timeout 30m ${GO_TEST_FLAGS:-} ${packages[$v]}; then
			result=ok
		else
			result=FAIL
			status=1
		fi
		summary+=("$(printf '%-6s %-4s tests %4ds (binaries %ds)  %s' "$v" "$result" $((SECONDS - start - built)) "$built" "${packages[$v]}")")
	else
		status=1
		summary+=("$(printf '%-6s %-4s building the binaries failed' "$v" FAIL)")
	fi
done
echo "== Kubernetes versions" >&2
printf '%s\n' "${summary[@]}" >&2
exit "$status"
