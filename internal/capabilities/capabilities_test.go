package capabilities

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
)

// server is a discovery fake that reports a version and serves the given resources,
// each "groupVersion resource".
func server(gitVersion string, resources ...string) *fakediscovery.FakeDiscovery {
	byGV := map[string][]metav1.APIResource{}
	var order []string
	for _, r := range resources {
		gv, name, _ := strings.Cut(r, " ")
		if _, ok := byGV[gv]; !ok {
			order = append(order, gv)
		}
		byGV[gv] = append(byGV[gv], metav1.APIResource{Name: name})
	}
	fake := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}, FakedServerVersion: &version.Info{GitVersion: gitVersion}}
	for _, gv := range order {
		fake.Resources = append(fake.Resources, &metav1.APIResourceList{GroupVersion: gv, APIResources: byGV[gv]})
	}
	return fake
}

// TestDetect decides from the server, not from its version alone, where discovery can
// tell: a resize or a policy API turned on or off against its version's default counts.
func TestDetect(t *testing.T) {
	const (
		pods     = "v1 pods"
		resize   = "v1 pods/resize"
		mapV1    = "admissionregistration.k8s.io/v1 mutatingadmissionpolicies"
		mapBeta  = "admissionregistration.k8s.io/v1beta1 mutatingadmissionpolicies"
		mapAlpha = "admissionregistration.k8s.io/v1alpha1 mutatingadmissionpolicies"
		webhooks = "admissionregistration.k8s.io/v1 mutatingwebhookconfigurations"
	)
	for _, tc := range []struct {
		name      string
		server    *fakediscovery.FakeDiscovery
		want      Set
		policies  bool
		problemOf string // in PolicyProblem, "" when there is none
	}{
		{"1.28", server("v1.28.15", pods, webhooks),
			Set{Version: "v1.28.15", MatchConditions: true}, false, "serves no MutatingAdmissionPolicy"},
		{"1.30", server("v1.30.14", pods, webhooks),
			Set{Version: "v1.30.14", NativeSidecars: true, MatchConditions: true}, false, "Kubernetes v1.30.14 serves no MutatingAdmissionPolicy"},
		{"1.33 with the alpha policy turned on", server("v1.33.13", pods, resize, webhooks, mapAlpha),
			Set{Version: "v1.33.13", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, Resize: true, PolicyVersions: []string{"v1alpha1"}},
			false, "serves MutatingAdmissionPolicy only as v1alpha1"},
		{"1.35 with the beta turned on", server("v1.35.3", pods, resize, webhooks, mapBeta, mapAlpha),
			Set{Version: "v1.35.3", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, Resize: true, PolicyVersions: []string{"v1beta1", "v1alpha1"}},
			false, "only as v1beta1, v1alpha1"},
		{"1.37", server("v1.37.2", pods, resize, webhooks, mapV1),
			Set{Version: "v1.37.2", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, Resize: true, PolicyVersions: []string{"v1"}}, true, ""},
		{"1.37 with the resize turned off", server("v1.37.2", pods, webhooks, mapV1),
			Set{Version: "v1.37.2", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, PolicyVersions: []string{"v1"}}, true, ""},
		{"a build without its version stamped", server("v0.0.0-master+$Format:%H$", pods),
			Set{Version: "v0.0.0-master+$Format:%H$"}, false, "serves no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect(t.Context(), tc.server)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tc.want) {
				t.Errorf("Detect = %+v, want %+v", got, tc.want)
			}
			if got.Policies() != tc.policies {
				t.Errorf("Policies() = %v, want %v", got.Policies(), tc.policies)
			}
			problem := got.PolicyProblem()
			if (tc.problemOf == "") != (problem == "") || !strings.Contains(problem, tc.problemOf) {
				t.Errorf("PolicyProblem() = %q, want it to contain %q", problem, tc.problemOf)
			}
		})
	}
}

func TestDetectErrors(t *testing.T) {
	bad := server("not a version", "v1 pods")
	if _, err := Detect(t.Context(), bad); err == nil || !strings.Contains(err.Error(), `"not a version" is not a Kubernetes version`) {
		t.Errorf("Detect with a bad version: %v", err)
	}
	// No core group at all: the fake answers "not found" for v1.
	empty := server("v1.37.2")
	if _, err := Detect(t.Context(), empty); err == nil || !strings.Contains(err.Error(), "core resources") {
		t.Errorf("Detect without the core group: %v", err)
	}
}

// TestForVersion is what a version serves by default, without a server to ask.
func TestForVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    Set
	}{
		{"1.28", Set{Version: "1.28", MatchConditions: true}},
		{"v1.30.14", Set{Version: "v1.30.14", NativeSidecars: true, MatchConditions: true}},
		{"1.32", Set{Version: "1.32", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true}},
		{"1.33", Set{Version: "1.33", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, Resize: true}},
		{"1.35.0", Set{Version: "1.35.0", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, Resize: true}},
		{"1.36", Set{Version: "1.36", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, Resize: true, PolicyVersions: []string{"v1"}}},
		{"v1.37.2", Set{Version: "v1.37.2", NativeSidecars: true, NativeSidecarImages: true, MatchConditions: true, Resize: true, PolicyVersions: []string{"v1"}}},
	} {
		got, err := ForVersion(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		if !equal(got, tc.want) {
			t.Errorf("ForVersion(%s) = %+v, want %+v", tc.version, got, tc.want)
		}
	}
	for _, bad := range []string{"", "latest", "1", "one.two"} {
		if _, err := ForVersion(bad); err == nil || !strings.Contains(err.Error(), "is not a Kubernetes version such as 1.30") {
			t.Errorf("ForVersion(%q): %v", bad, err)
		}
	}
}

func equal(a, b Set) bool {
	return a.Version == b.Version && a.NativeSidecars == b.NativeSidecars && a.NativeSidecarImages == b.NativeSidecarImages &&
		a.MatchConditions == b.MatchConditions &&
		a.Resize == b.Resize && slices.Equal(a.PolicyVersions, b.PolicyVersions)
}
