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
	if estimate := patchSize(&p.adds, rendered{name: StatusKey, json: p.statusValue()}); len(res.Patch) > estimate {
		t.Errorf("the patch is %d bytes, more than the %d estimated for its buffer", len(res.Patch), estimate)
	}
}

// everyField is a sidecar that sets every field of config.Fields, many times over and
// with long names, keys and values: the estimate's allowance per item does not cover
// them by itself.
func everyField(t *testing.T) *config.Config {
	t.Helper()
	long := strings.Repeat("x", 60)
	var many strings.Builder
	field := func(key, format string) {
		fmt.Fprintf(&many, "    %s:\n", key)
		for i := range 20 {
			fmt.Fprintf(&many, "      "+format+"\n", i)
		}
	}
	field("initContainers", "- {name: init-%d, image: busybox, args: ["+long+"]}")
	field("containers", "- {name: proxy-%d, image: envoy}")
	field("volumes", "- {name: v-%d, emptyDir: {}}")
	field("imagePullSecrets", "- {name: "+long+long+long+".%d}")
	field("env", "- {name: "+strings.ToUpper(long)+"_%d, value: '{{ .Pod.Name }}'}")
	field("volumeMounts", "- {name: v-0, mountPath: /"+long+"/%d}")
	field("labels", long[:50]+".example.com/"+long[:50]+"-%d: "+long)
	field("annotations", long[:50]+".example.com/"+long[:50]+"-%d: "+long+long)
	cfg, err := config.Parse([]byte("sidecars:\n  - name: all\n"+many.String()), "every.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Every field of the table reaches the patch at its place, and the buffer estimate
// covers the patch: for a pod with none of the lists (each added whole) and for one with
// all of them (each item its own operation), native or not.
func TestEveryFieldIsPatchedWithinTheEstimate(t *testing.T) {
	cfg := everyField(t)
	pods := map[string]string{
		"a pod without the lists": `{"metadata":{"name":"p","annotations":{"tandem.io/inject":"all"}},"spec":{"containers":[{"name":"a"},{"name":"b"}]}}`,
		"a pod with every list": `{"metadata":{"name":"p","labels":{"x":"y"},"annotations":{"tandem.io/inject":"all"}},"spec":{` +
			`"initContainers":[{"name":"i"}],"volumes":[{"name":"v"}],"imagePullSecrets":[{"name":"s"}],` +
			`"containers":[{"name":"a","env":[{"name":"E"}],"volumeMounts":[{"name":"v","mountPath":"/v"}]},{"name":"b","env":[{"name":"E"}],"volumeMounts":[{"name":"v","mountPath":"/v"}]}]}}`,
	}
	for name, pod := range pods {
		for _, native := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, native %v", name, native), func(t *testing.T) {
				res, p, err := inject([]byte(pod), Namespace{Name: "default"}, cfg, Options{NativeSidecars: native})
				if err != nil {
					t.Fatal(err)
				}
				defer p.release()
				if err := checkPatch([]byte(pod), res.Patch, p); err != nil {
					t.Fatal(err)
				}
				if estimate := patchSize(&p.adds, rendered{name: StatusKey, json: p.statusValue()}); len(res.Patch) > estimate {
					t.Errorf("the patch is %d bytes, more than the %d estimated for its buffer", len(res.Patch), estimate)
				}
				for _, f := range config.Fields {
					path := map[config.Placement]string{
						config.InPod:           `"path":"/spec/` + f.Key,
						config.InEachContainer: `"path":"/spec/containers/1/` + f.Key,
						config.InMetadata:      `"path":"/metadata/` + f.Key,
					}[f.Placement]
					if f.Native && native {
						path = `"path":"/spec/initContainers`
					}
					if !strings.Contains(string(res.Patch), path) {
						t.Errorf("%s: nothing at %s in the patch %s", f.Key, path, res.Patch)
					}
				}
			})
		}
	}
}
