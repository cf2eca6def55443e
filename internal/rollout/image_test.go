package rollout

import "testing"

// A container status names its image as the runtime does; the wait must know it for the
// spec's, or a rollout of a well-formed image would time out and be put back.
func TestSameImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		status, spec string
		same         bool
	}{
		{"tandem.local/demo-proxy:v2", "tandem.local/demo-proxy:v2", true},
		{"docker.io/library/envoy:v1.32.1", "envoy:v1.32.1", true},
		{"docker.io/envoyproxy/envoy:v1.32.1", "envoyproxy/envoy:v1.32.1", true},
		{"docker.io/library/envoy:v1.31.0", "envoy:v1.32.1", false},
		{"docker.io/library/nginx:v1.32.1", "envoy:v1.32.1", false},
		{"docker.io/library/envoy:v1.32.1", "envoy:v1.32.1@" + digest, true},
		{"docker.io/library/envoy@" + digest, "envoy@" + digest, true},
		{digest, "envoy@" + digest, true},
		{digest, "envoy:v1.32.1", false},
		{"registry.example.com:5000/mesh/proxy:2", "registry.example.com:5000/mesh/proxy:2", true},
		{"not an image", "envoy:v1", false},
	} {
		if got := sameImage(tc.status, tc.spec); got != tc.same {
			t.Errorf("sameImage(%q, %q) = %v, want %v", tc.status, tc.spec, got, tc.same)
		}
	}
}
