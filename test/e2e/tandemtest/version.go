package tandemtest

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/kubernetes"
)

// ServerAtLeast tells whether the API server is Kubernetes 1.minor or newer. Tests
// decide by the version alone what Tandem decides through internal/capabilities, so
// that a wrong detection fails them instead of skipping what they check.
func ServerAtLeast(t testing.TB, client kubernetes.Interface, minor uint) bool {
	t.Helper()
	info, err := client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	v, err := version.ParseGeneric(info.GitVersion)
	if err != nil {
		t.Fatal(err)
	}
	return v.AtLeast(version.MajorMinor(1, minor))
}
