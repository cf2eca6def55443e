package inject

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-io/tandem/internal/config"
)

func TestExplain(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "inject", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pod := `{"metadata":{"namespace":"shop","annotations":{"tandem.io/inject":"proxy, envoy","tandem.io/proxy.cpu":"250m"}},"spec":{"containers":[{"name":"app","image":"x"}]}}`
	x := Explain([]byte(pod), Namespace{LabelsKnown: true}, cfg, Options{NativeSidecars: true})
	if x.Denial == nil || x.Denial.Reason != ReasonUnknownSidecar {
		t.Fatalf("denial %+v, want UnknownSidecar", x.Denial)
	}
	if diff := cmp.Diff([]string{"proxy", "envoy"}, x.Requested); diff != "" {
		t.Errorf("requested (-want +got):\n%s", diff)
	}
	if x.Source != "the pod annotation tandem.io/inject" {
		t.Errorf("source %q", x.Source)
	}
	want := []Knob{
		{Sidecar: "proxy", Name: "cpu", Value: "250m", From: "annotation tandem.io/proxy.cpu"},
		{Sidecar: "proxy", Name: "logLevel", Value: "info", From: "config"},
	}
	if diff := cmp.Diff(want, x.Knobs); diff != "" {
		t.Errorf("knobs (-want +got):\n%s", diff)
	}
	if len(x.Result.Sidecars) != 2 || x.Result.Sidecars[1].Name != "proxy" || x.Result.Sidecars[1].Decision != DecisionInjected {
		t.Errorf("decisions %+v: want envoy denied, then proxy that would be injected", x.Result.Sidecars)
	}

	opted := Explain([]byte(`{"metadata":{"labels":{"tandem.io/inject":"false"}},"spec":{}}`), Namespace{}, cfg, Options{})
	if !opted.OptedOut || opted.Result.Reason != ReasonOptedOut || opted.Denial != nil {
		t.Errorf("opted-out pod: %+v", opted)
	}
	bad := Explain([]byte(`{"spec":`), Namespace{}, cfg, Options{})
	if bad.Denial == nil || bad.Denial.Reason != ReasonInvalidPod {
		t.Errorf("invalid pod: %+v", bad)
	}
}

func TestAuditPod(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "inject", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seed, proxy := cfg.Sidecar("seed").LegacyHash, cfg.Sidecar("proxy").LegacyHash
	status := func(v string) map[string]string {
		return map[string]string{"tandem.io/inject": "seed,proxy,logs", "tandem.io/status": v}
	}
	tests := []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		ns          Namespace
		want        Audit
	}{
		{name: "asked for nothing", want: Audit{}},
		{name: "opted out", labels: map[string]string{"tandem.io/inject": "false"}, annotations: map[string]string{"tandem.io/inject": "seed"}},
		{name: "never went through Tandem", annotations: map[string]string{"tandem.io/inject": "seed,proxy,envoy"},
			want: Audit{Requested: []string{"seed", "proxy"}, Missing: []string{"seed", "proxy"}}},
		{name: "by its namespace, never went through Tandem", ns: Namespace{LabelsKnown: true, Labels: map[string]string{"tandem.io/inject": "seed"}},
			want: Audit{Requested: []string{"seed"}, Missing: []string{"seed"}}},
		{name: "carries everything, logs left out with a reason",
			annotations: status(`{"sidecars":[{"name":"seed","hash":"` + seed + `"},{"name":"proxy","hash":"` + proxy + `"}],"skipped":[{"name":"logs","reason":"NameClash"}]}`),
			want:        Audit{Requested: []string{"seed", "proxy", "logs"}}},
		{name: "one missing, one outdated",
			annotations: status(`{"sidecars":[{"name":"seed","hash":"0"},{"name":"proxy","hash":"` + proxy + `"}]}`),
			want:        Audit{Requested: []string{"seed", "proxy", "logs"}, Missing: []string{"logs"}, Outdated: []string{"seed"}}},
		{name: "a sidecar that left the configuration is outdated",
			annotations: map[string]string{"tandem.io/inject": "seed", "tandem.io/status": `{"sidecars":[{"name":"seed","hash":"` + seed + `"},{"name":"gone","hash":"1"}]}`},
			want:        Audit{Requested: []string{"seed"}, Outdated: []string{"gone"}}},
		{name: "per-part records, current",
			annotations: status(Status{Sidecars: []StatusSidecar{EntryOf(cfg.Sidecar("seed")), EntryOf(cfg.Sidecar("proxy")), EntryOf(cfg.Sidecar("logs"))}}.Format()),
			want:        Audit{Requested: []string{"seed", "proxy", "logs"}}},
		{name: "per-part records, one part changed", annotations: status(Status{Sidecars: []StatusSidecar{EntryOf(cfg.Sidecar("seed")), changedPart(EntryOf(cfg.Sidecar("proxy")))}}.Format()),
			want: Audit{Requested: []string{"seed", "proxy", "logs"}, Missing: []string{"logs"}, Outdated: []string{"proxy"}}},
		{name: "a status that is not Tandem's", annotations: status("mine"),
			want: Audit{Requested: []string{"seed", "proxy", "logs"}, Missing: []string{"seed", "proxy", "logs"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AuditPod(tc.labels, tc.annotations, tc.ns, cfg)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
		})
	}
}

// changedPart is e with the hash of its first part (in key order) changed, as if that
// part's definition had changed since.
func changedPart(e StatusSidecar) StatusSidecar {
	parts := maps.Clone(e.Parts)
	k := slices.Sorted(maps.Keys(parts))[0]
	parts[k] = "00000000"
	e.Parts, e.Hash = parts, "000000000000"
	return e
}
