package explain

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// The verdict: what counts as getting every sidecar asked for, in a manifest and in a
// cluster, beyond what the golden cases show.
func TestVerdict(t *testing.T) {
	cfg, err := config.Load(filepath.Join(engineCases, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	status := func(sidecars ...string) string {
		var parts []string
		for _, name := range sidecars {
			parts = append(parts, `{\"name\":\"`+name+`\",\"hash\":\"`+cfg.Sidecar(name).LegacyHash+`\"}`)
		}
		return `"tandem.io/status":"{\"sidecars\":[` + strings.Join(parts, ",") + `]}"`
	}
	pod := func(labels, annotations string) string {
		return `{"metadata":{"name":"p","labels":{` + labels + `},"annotations":{` + annotations + `}},"spec":{"containers":[{"name":"app","image":"app"}]}}`
	}
	wantsSeed := `"tandem.io/inject":"seed"`
	tests := map[string]struct {
		pod            string
		nsLabels       map[string]string
		origin         Origin
		ok, denied     bool
		reason         inject.Reason
		problems       string // joined by ;
		warning        string // a part of one
		requestedBy    string
		requested      string
		sidecarReasons string
	}{
		"a manifest's pod gets what it asks for": {
			pod: pod("", wantsSeed), origin: Manifest, ok: true, reason: inject.ReasonInjected,
			requestedBy: "the pod annotation tandem.io/inject", requested: "seed", sidecarReasons: "Injected",
		},
		"the same pod in a cluster never went through Tandem": {
			pod: pod("", wantsSeed), origin: Cluster, reason: inject.ReasonInjected,
			problems: "seed not carried (no tandem.io/status)", warning: "carries no tandem.io/status",
			requestedBy: "the pod annotation tandem.io/inject", requested: "seed", sidecarReasons: "Injected",
		},
		"a pod that carries the current definitions": {
			pod: pod("", `"tandem.io/inject":"seed,proxy",`+status("seed", "proxy")), origin: Cluster, ok: true,
			reason: inject.ReasonAlreadyInjected, requestedBy: "the pod annotation tandem.io/inject", requested: "seed,proxy",
			sidecarReasons: "AlreadyInjected,AlreadyInjected",
		},
		"a sidecar asked for after admission": {
			pod: pod("", `"tandem.io/inject":"seed,proxy",`+status("seed")), origin: Cluster,
			reason: inject.ReasonAlreadyInjected, problems: "proxy not recorded in tandem.io/status", warning: `sidecar "proxy" is asked for, but tandem.io/status does not record it`,
			requestedBy: "the pod annotation tandem.io/inject", requested: "seed,proxy", sidecarReasons: "AlreadyInjected",
		},
		"a status that is not Tandem's": {
			pod: pod("", wantsSeed+`,"tandem.io/status":"yes"`), origin: Cluster,
			reason: inject.ReasonForeignStatus, problems: "seed not recorded in tandem.io/status", warning: "ForeignStatus: annotation tandem.io/status is not Tandem's",
			requestedBy: "the pod annotation tandem.io/inject", requested: "seed",
		},
		"a sidecar left out at admission": {
			pod:    pod("", `"tandem.io/inject":"seed,proxy","tandem.io/status":"{\"sidecars\":[],\"skipped\":[{\"name\":\"seed\",\"reason\":\"HostNetwork\"},{\"name\":\"proxy\",\"reason\":\"HostNetwork\"}]}"`),
			origin: Cluster, reason: inject.ReasonAlreadyInjected, problems: "seed skipped (HostNetwork);proxy skipped (HostNetwork)",
			requestedBy: "the pod annotation tandem.io/inject", requested: "seed,proxy", sidecarReasons: "HostNetwork,HostNetwork",
		},
		"a denial about no sidecar the pod asked for": {
			pod: pod("", wantsSeed+`,"tandem.io/envoy.cpu":"1m"`), origin: Manifest, denied: true,
			reason: inject.ReasonBadOverride, problems: "the pod is denied (BadOverride)",
			requestedBy: "the pod annotation tandem.io/inject", requested: "seed", sidecarReasons: "Injected",
		},
		"not a pod": {
			pod: `[1]`, origin: Manifest, denied: true, reason: inject.ReasonInvalidPod, problems: "the pod is denied (InvalidPod)",
		},
		"opted out of the namespace's default": {
			pod: pod(`"tandem.io/inject":"false"`, ""), nsLabels: map[string]string{"tandem.io/inject": "seed"}, origin: Cluster, ok: true,
			reason: inject.ReasonOptedOut,
		},
		"an empty annotation overrides the namespace's default": {
			pod: pod("", `"tandem.io/inject":""`), nsLabels: map[string]string{"tandem.io/inject": "seed"}, origin: Cluster, ok: true,
			reason: inject.ReasonNothingRequested, requestedBy: "the pod annotation tandem.io/inject",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := inject.Namespace{Name: "default", Labels: tc.nsLabels, LabelsKnown: true}
			p := New(Object{Kind: "Pod", Namespace: "default", Name: "p"}, inject.Explain([]byte(tc.pod), ns, cfg, inject.Options{NativeSidecars: true}), tc.origin)
			var reasons []string
			for _, s := range p.Sidecars {
				reasons = append(reasons, string(s.Reason))
			}
			if p.OK != tc.ok || p.Denied != tc.denied || p.Reason != tc.reason || strings.Join(p.Problems, ";") != tc.problems ||
				p.RequestedBy != tc.requestedBy || strings.Join(p.Requested, ",") != tc.requested || strings.Join(reasons, ",") != tc.sidecarReasons {
				t.Errorf("got ok %v, denied %v, reason %s, problems %q, requested %v by %q, sidecar reasons %v\nwant ok %v, denied %v, reason %s, problems %q, requested %s by %q, sidecar reasons %s",
					p.OK, p.Denied, p.Reason, p.Problems, p.Requested, p.RequestedBy, reasons,
					tc.ok, tc.denied, tc.reason, tc.problems, tc.requested, tc.requestedBy, tc.sidecarReasons)
			}
			if tc.warning != "" && !strings.Contains(strings.Join(p.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q lack %q", p.Warnings, tc.warning)
			}
			if OK([]Pod{p}) != tc.ok {
				t.Errorf("OK of the pod alone is %v", !tc.ok)
			}
		})
	}
}

func TestNoPods(t *testing.T) {
	for format, want := range map[string]string{"text": "no pods or pod templates\n", "json": "[]\n", "yaml": "[]\n"} {
		var b bytes.Buffer
		if err := Write(&b, format, nil); err != nil || b.String() != want {
			t.Errorf("%s: %v %q, want %q", format, err, b.String(), want)
		}
	}
	if !OK(nil) {
		t.Error("no pods is not ok")
	}
	if err := Write(&bytes.Buffer{}, "xml", nil); err == nil {
		t.Error("xml is a format")
	}
}
