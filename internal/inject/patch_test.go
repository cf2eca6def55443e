package inject

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/internal/config"
)

func TestPointerKeysAreEscaped(t *testing.T) {
	tests := map[string]struct{ key, want string }{
		"a plain key is unchanged":        {"app", "app"},
		"a slash becomes ~1":              {"app.kubernetes.io/name", "app.kubernetes.io~1name"},
		"a tilde becomes ~0":              {"a~b", "a~0b"},
		"a tilde is escaped before slash": {"~/", "~0~1"},
		"an escaped-looking key survives": {"x~1y", "x~01y"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var w patchWriter
			if got := string(w.at("/metadata/labels").key(tc.key).path); got != "/metadata/labels/"+tc.want {
				t.Errorf("the path for key %q is %q, want %q", tc.key, got, "/metadata/labels/"+tc.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []string
	}{
		"commas separate names":         {"proxy,logs", []string{"proxy", "logs"}},
		"dots separate names in labels": {"proxy.logs", []string{"proxy", "logs"}},
		"spaces and blanks are dropped": {" proxy , ,logs ", []string{"proxy", "logs"}},
		"repeats are dropped":           {"proxy,proxy", []string{"proxy"}},
		"false means none":              {"false", nil},
		"empty means none":              {"", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ParseList(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("ParseList(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("ParseList(%q) = %q, want %q", tc.in, got, tc.want)
				}
			}
		})
	}
}

// The patch buffer is sized once from the additions: the estimate must cover every kind
// of addition, image pull secrets included, or a big patch is copied as it grows.
func TestPatchSizeEstimateCoversWhatIsWritten(t *testing.T) {
	var secrets strings.Builder
	for i := range 40 {
		fmt.Fprintf(&secrets, "  - name: registry-%d-%s\n", i, strings.Repeat("x", 200))
	}
	cfg, err := config.Parse([]byte("sidecars:\n- name: pull\n  imagePullSecrets:\n"+secrets.String()), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pod := `{"metadata":{"annotations":{"tandem.io/inject":"pull"}},"spec":{"containers":[{"name":"app","image":"x"}]}}`
	res, p, err := inject([]byte(pod), Namespace{Name: "default"}, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.release()
	if estimate := p.adds.size() + p.statusSize() + 512; len(res.Patch) > estimate {
		t.Errorf("the patch is %d bytes, more than the %d estimated for its buffer", len(res.Patch), estimate)
	}
}
