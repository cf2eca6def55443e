package inject

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-io/tandem/internal/config"
)

// Each outcome the engine can reach comes with its fixed Reason, for the pod and for each
// sidecar, whether the pod is admitted or denied.
func TestReasons(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "inject", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seed := cfg.Sidecar("seed").LegacyHash
	const app = `"spec":{"containers":[{"name":"app","image":"x"}]}`
	asks := func(names string) string {
		return `{"metadata":{"annotations":{"tandem.io/inject":"` + names + `"}}, ` + app + `}`
	}
	d := func(name string, decision Decision, reason Reason) string {
		return fmt.Sprintf("%s %s %s", name, decision, reason)
	}
	tests := []struct {
		name      string
		pod       string
		ns        Namespace
		reason    Reason
		sidecars  []string // "name decision reason"
		denied    bool
		inWarning string
	}{
		{name: "injected", pod: asks("seed,proxy"), reason: ReasonInjected,
			sidecars: []string{d("seed", DecisionInjected, ReasonInjected), d("proxy", DecisionInjected, ReasonInjected)}},
		{name: "opted out", pod: `{"metadata":{"labels":{"tandem.io/inject":"false"},"annotations":{"tandem.io/inject":"seed"}}, ` + app + `}`, reason: ReasonOptedOut},
		{name: "nothing requested", pod: `{"metadata":{}, ` + app + `}`, reason: ReasonNothingRequested},
		{name: "nothing requested, by an empty annotation in a labelled namespace", pod: asks(""),
			ns: Namespace{LabelsKnown: true, Labels: map[string]string{"tandem.io/inject": "seed"}}, reason: ReasonNothingRequested},
		{name: "already injected", pod: `{"metadata":{"annotations":{"tandem.io/status":"{\"sidecars\":[{\"name\":\"seed\",\"hash\":\"` + seed + `\"}]}"}}, ` + app + `}`,
			reason: ReasonAlreadyInjected, sidecars: []string{d("seed", DecisionInjected, ReasonAlreadyInjected)}},
		{name: "outdated", pod: `{"metadata":{"annotations":{"tandem.io/status":"{\"sidecars\":[{\"name\":\"seed\",\"hash\":\"` + seed + `\"},{\"name\":\"proxy\",\"hash\":\"0\"},{\"name\":\"gone\",\"hash\":\"0\"}]}"}}, ` + app + `}`,
			reason:    ReasonOutdated,
			sidecars:  []string{d("seed", DecisionInjected, ReasonAlreadyInjected), d("proxy", DecisionInjected, ReasonOutdated), d("gone", DecisionInjected, ReasonOutdated)},
			inWarning: "Outdated: sidecar \"proxy\" was injected from an older definition"},
		{name: "foreign status", pod: `{"metadata":{"annotations":{"tandem.io/status":"mine"}}, ` + app + `}`, reason: ReasonForeignStatus, inWarning: "ForeignStatus: "},
		{name: "namespace not allowed", pod: asks("vault,seed"), ns: Namespace{Name: "n", LabelsKnown: true}, reason: ReasonNamespaceNotAllowed, denied: true,
			sidecars: []string{d("vault", DecisionDenied, ReasonNamespaceNotAllowed), d("seed", DecisionInjected, ReasonInjected)}},
		{name: "host network, skipped and injected", pod: `{"metadata":{"annotations":{"tandem.io/inject":"proxy,node-agent"}},"spec":{"hostNetwork":true,"containers":[{"name":"app","image":"x"}]}}`,
			reason:    ReasonInjected,
			sidecars:  []string{d("proxy", DecisionSkipped, ReasonHostNetwork), d("node-agent", DecisionInjected, ReasonInjected)},
			inWarning: "HostNetwork: sidecar \"proxy\""},
		{name: "host network, only skipped", pod: `{"metadata":{"annotations":{"tandem.io/inject":"proxy"}},"spec":{"hostNetwork":true,"containers":[{"name":"app","image":"x"}]}}`,
			reason: ReasonHostNetwork, sidecars: []string{d("proxy", DecisionSkipped, ReasonHostNetwork)}},
		{name: "host network, denied", pod: `{"metadata":{"annotations":{"tandem.io/inject":"host-guard"}},"spec":{"hostNetwork":true,"containers":[{"name":"app","image":"x"}]}}`,
			reason: ReasonHostNetwork, denied: true, sidecars: []string{d("host-guard", DecisionDenied, ReasonHostNetwork)}},
		{name: "hostNetwork false is an ordinary pod", pod: `{"metadata":{"annotations":{"tandem.io/inject":"proxy"}},"spec":{"hostNetwork":false,"containers":[{"name":"app","image":"x"}]}}`,
			reason: ReasonInjected, sidecars: []string{d("proxy", DecisionInjected, ReasonInjected)}},
		{name: "name clash, hard", pod: asks("clash-hard,seed"), reason: ReasonNameClash, denied: true,
			sidecars: []string{d("seed", DecisionInjected, ReasonInjected), d("clash-hard", DecisionDenied, ReasonNameClash)}},
		{name: "name clash, soft", pod: asks("clash-soft,seed"), reason: ReasonInjected,
			sidecars: []string{d("seed", DecisionInjected, ReasonInjected), d("clash-soft", DecisionSkipped, ReasonNameClash)}, inWarning: "NameClash: "},
		{name: "port clash, soft", pod: `{"metadata":{"annotations":{"tandem.io/inject":"clash-soft"}},"spec":{"containers":[{"name":"web","image":"x","ports":[{"containerPort":8080}]}]}}`,
			reason: ReasonPortClash, sidecars: []string{d("clash-soft", DecisionSkipped, ReasonPortClash)}, inWarning: "PortClash: "},
		{name: "unknown sidecar, beside a known one", pod: asks("envoy,seed"), reason: ReasonUnknownSidecar, denied: true,
			sidecars: []string{d("envoy", DecisionDenied, ReasonUnknownSidecar), d("seed", DecisionInjected, ReasonInjected)}},
		{name: "bad override", pod: `{"metadata":{"annotations":{"tandem.io/inject":"proxy","tandem.io/proxy.cpu":"lots"}}, ` + app + `}`,
			reason: ReasonBadOverride, denied: true, sidecars: []string{d("proxy", DecisionDenied, ReasonBadOverride)}},
		{name: "override of a sidecar nobody defined", pod: `{"metadata":{"annotations":{"tandem.io/inject":"seed","tandem.io/envoy.cpu":"1"}}, ` + app + `}`,
			reason: ReasonBadOverride, denied: true, sidecars: []string{d("seed", DecisionInjected, ReasonInjected)}},
		{name: "no spec", pod: `{"metadata":{"annotations":{"tandem.io/inject":"seed"}}}`, reason: ReasonInvalidPod, denied: true},
		{name: "not a pod", pod: `[1]`, reason: ReasonInvalidPod, denied: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ns.Name == "" {
				tc.ns.Name = "default"
			}
			res, err := Inject([]byte(tc.pod), tc.ns, cfg, Options{NativeSidecars: true})
			if (err != nil) != tc.denied {
				t.Fatalf("error %v, want denied=%v", err, tc.denied)
			}
			if e, ok := err.(*Error); ok && e.Reason != tc.reason {
				t.Errorf("the denial's reason is %s, want %s", e.Reason, tc.reason)
			}
			if err == nil && res.Reason != tc.reason {
				t.Errorf("reason %s (%s), want %s", res.Reason, res.Message, tc.reason)
			}
			var got []string
			for _, s := range res.Sidecars {
				got = append(got, d(s.Name, s.Decision, s.Reason))
				if s.Message == "" {
					t.Errorf("sidecar %s has no message", s.Name)
				}
			}
			if diff := cmp.Diff(tc.sidecars, got); diff != "" {
				t.Errorf("sidecar decisions (-want +got):\n%s", diff)
			}
			if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, tc.inWarning) {
				t.Errorf("warnings %q, want one containing %q", w, tc.inWarning)
			}
		})
	}
}

// docs/annotations.md lists every Reason, each as a row starting with it in backticks.
func TestReasonsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "annotations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Reasons {
		if !strings.Contains(string(doc), "| `"+string(r)+"` |") {
			t.Errorf("docs/annotations.md has no row for the reason %s", r)
		}
	}
}
