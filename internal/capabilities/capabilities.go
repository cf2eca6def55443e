package capabilities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
)

// The first minor in which each capability is on by default. Only the version can tell
// the first three: none changes discovery.
var (
	// Init containers with restartPolicy Always run as sidecars: beta and on in 1.29.
	nativeSidecarsSince = version.MajorMinor(1, 29)
	// Webhooks' matchConditions: beta and on in 1.28, GA in 1.30.
	matchConditionsSince = version.MajorMinor(1, 28)
	// The kubelet restarts a running native sidecar whose image changed from 1.32; before,
	// it keeps the old image until the pod is recreated.
	nativeSidecarImagesSince = version.MajorMinor(1, 32)
	// The pods/resize subresource: beta and on in 1.33 (earlier alphas patched the pod).
	resizeSince = version.MajorMinor(1, 33)
	// MutatingAdmissionPolicy in admissionregistration.k8s.io/v1: GA in 1.36; 1.32 to 1.35
	// have only alpha or beta versions, behind the MutatingAdmissionPolicy feature gate.
	admissionPolicySince = version.MajorMinor(1, 36)
)

// PolicyAPIVersion is the only API version of MutatingAdmissionPolicy that tandem
// compile writes.
const PolicyAPIVersion = "admissionregistration.k8s.io/v1"

const (
	policyGroup    = "admissionregistration.k8s.io"
	policyResource = "mutatingadmissionpolicies"
)

// timeout bounds the discovery requests of Detect.
const timeout = 10 * time.Second

// Set is what one API server can do.
type Set struct {
	// Version is the server's version, as it reports it (v1.30.14).
	Version string
	// NativeSidecars: init containers with restartPolicy Always run as sidecars.
	NativeSidecars bool
	// NativeSidecarImages: a running native sidecar takes a new image in place. Decided by
	// the API server's version: a node whose kubelet is older (1.30 or 1.31 under a newer
	// control plane) keeps the old image, and the rollout that waits for it rolls back.
	NativeSidecarImages bool
	// MatchConditions: webhooks honour matchConditions (the chart's routing).
	MatchConditions bool
	// Resize: the pods/resize subresource changes a running container's resources.
	Resize bool
	// PolicyVersions are the served versions of MutatingAdmissionPolicy in
	// admissionregistration.k8s.io (v1, v1beta1, v1alpha1), newest first; tandem compile's
	// policies need v1. Without a server, v1 from the version that serves it by default.
	PolicyVersions []string
}

// Policies tells whether the server serves the MutatingAdmissionPolicy tandem compile writes.
func (s Set) Policies() bool {
	return slices.Contains(s.PolicyVersions, "v1")
}

// PolicyProblem says why the server cannot run tandem compile's policies, or "" when it can.
func (s Set) PolicyProblem() string {
	if s.Policies() {
		return ""
	}
	served := "serves no MutatingAdmissionPolicy"
	if len(s.PolicyVersions) > 0 {
		served = "serves MutatingAdmissionPolicy only as " + strings.Join(s.PolicyVersions, ", ")
	}
	return fmt.Sprintf("Kubernetes %s %s; Tandem's admission policies need MutatingAdmissionPolicy %s, served by default from Kubernetes %s "+
		"(1.32 to 1.35 have only alpha or beta versions, behind the MutatingAdmissionPolicy feature gate): inject with the webhook there (the chart's mode webhook)",
		s.Version, served, PolicyAPIVersion, minorString(admissionPolicySince))
}

// ForVersion is what a server of that version (1.30, v1.30.14) does by default, for
// commands that have no server to ask.
func ForVersion(v string) (Set, error) {
	parsed, err := parse(v)
	if err != nil {
		return Set{}, err
	}
	s := byVersion(parsed, v)
	s.Resize = parsed.AtLeast(resizeSince)
	if parsed.AtLeast(admissionPolicySince) {
		s.PolicyVersions = []string{"v1"}
	}
	return s, nil
}

// Detect asks the server: its version, and discovery for pods/resize and the served
// versions of MutatingAdmissionPolicy.
func Detect(ctx context.Context, d discovery.DiscoveryInterface) (Set, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := discovery.ToServerVersionInterfaceWithContext(d).ServerVersionWithContext(ctx)
	if err != nil {
		return Set{}, fmt.Errorf("asking the API server its version: %w", err)
	}
	parsed, err := parse(info.GitVersion)
	if err != nil {
		return Set{}, fmt.Errorf("the API server's version: %w", err)
	}
	s := byVersion(parsed, info.GitVersion)
	core, err := d.ServerResourcesForGroupVersion("v1")
	if err != nil {
		return Set{}, fmt.Errorf("asking the API server for its core resources: %w", err)
	}
	for _, r := range core.APIResources {
		s.Resize = s.Resize || r.Name == "pods/resize"
	}
	if s.PolicyVersions, err = policyVersions(d); err != nil {
		return Set{}, err
	}
	return s, nil
}

// policyVersions lists the versions of admissionregistration.k8s.io that serve
// mutatingadmissionpolicies, in the server's order of preference.
func policyVersions(d discovery.DiscoveryInterface) ([]string, error) {
	groups, err := d.ServerGroups()
	if err != nil {
		return nil, fmt.Errorf("asking the API server for its API groups: %w", err)
	}
	var served []string
	for _, g := range groups.Groups {
		if g.Name != policyGroup {
			continue
		}
		for _, gv := range g.Versions {
			resources, err := d.ServerResourcesForGroupVersion(gv.GroupVersion)
			if err != nil {
				return nil, fmt.Errorf("asking the API server for the resources of %s: %w", gv.GroupVersion, err)
			}
			if slices.ContainsFunc(resources.APIResources, func(r metav1.APIResource) bool { return r.Name == policyResource }) {
				served = append(served, gv.Version)
			}
		}
	}
	return served, nil
}

func byVersion(v *version.Version, reported string) Set {
	return Set{
		Version:             reported,
		NativeSidecars:      v.AtLeast(nativeSidecarsSince),
		NativeSidecarImages: v.AtLeast(nativeSidecarImagesSince),
		MatchConditions:     v.AtLeast(matchConditionsSince),
	}
}

func parse(v string) (*version.Version, error) {
	parsed, err := version.ParseGeneric(v)
	if err != nil {
		return nil, fmt.Errorf("%q is not a Kubernetes version such as 1.30 or v1.30.14", v)
	}
	return parsed, nil
}

func minorString(v *version.Version) string {
	return fmt.Sprintf("%d.%d", v.Major(), v.Minor())
}
