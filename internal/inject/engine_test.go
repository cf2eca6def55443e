package inject

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/config"
)

func TestInjectDecisions(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "inject", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const app = `"spec":{"containers":[{"name":"app","image":"x"}]}`
	tests := map[string]struct {
		pod        string
		ns         Namespace
		injected   string
		reason     metav1.StatusReason // of the denial, if any
		inMessage  string              // a part of the denial or of the result's reason
		warningHas string
	}{
		"a pod that asks nothing gets nothing": {
			pod: `{"metadata":{}, ` + app + `}`, inMessage: "no sidecars requested",
		},
		"the annotation names the sidecars, injected in config order": {
			pod: `{"metadata":{"annotations":{"tandem.io/inject":"proxy,seed"}}, ` + app + `}`, injected: "seed,proxy",
		},
		"the namespace label applies when the pod says nothing": {
			pod: `{"metadata":{}, ` + app + `}`, ns: Namespace{LabelsKnown: true, Labels: map[string]string{"tandem.io/inject": "seed"}},
			injected: "seed", inMessage: "namespace",
		},
		"the opt-out label wins over everything": {
			pod:       `{"metadata":{"labels":{"tandem.io/inject":"false"},"annotations":{"tandem.io/inject":"seed"}}, ` + app + `}`,
			inMessage: "opted out",
		},
		"an unknown sidecar is an error naming it and the known ones": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"envoy"}}, ` + app + `}`,
			reason: metav1.StatusReasonInvalid, inMessage: `sidecar "envoy", which is not defined in the Tandem config (defined: seed, proxy`,
		},
		"an unknown sidecar in the namespace label is an error too": {
			pod: `{"metadata":{}, ` + app + `}`, ns: Namespace{Name: "n", LabelsKnown: true, Labels: map[string]string{"tandem.io/inject": "true"}},
			reason: metav1.StatusReasonInvalid, inMessage: `label tandem.io/inject of namespace n asks for sidecar "true"`,
		},
		"a restricted sidecar is denied where namespace labels are unknown": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"vault"}}, ` + app + `}`,
			ns:     Namespace{Name: "n"},
			reason: metav1.StatusReasonForbidden, inMessage: "are not known to Tandem",
		},
		"a mandatory clash is a conflict": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"clash-hard"}}, ` + app + `}`,
			reason: metav1.StatusReasonConflict, inMessage: `container name "app" is already used by the pod`,
		},
		"a best-effort clash is a warning": {
			pod:        `{"metadata":{"annotations":{"tandem.io/inject":"clash-soft,seed"}}, ` + app + `}`,
			injected:   "seed",
			warningHas: `sidecar "clash-soft" cannot be injected`,
		},
		"two sidecars that want the same name: the later one in config order clashes": {
			pod:        `{"metadata":{"annotations":{"tandem.io/inject":"clash-soft,clash-hard"}},"spec":{"containers":[{"name":"main"}]}}`,
			injected:   "clash-hard",
			warningHas: `container name "app" is already used by sidecar "clash-hard"`,
		},
		"a knob for an unknown sidecar is rejected": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"seed","tandem.io/sead.cpu":"1"}}, ` + app + `}`,
			reason: metav1.StatusReasonInvalid, inMessage: `names sidecar "sead"`,
		},
		"a knob for a sidecar the pod does not get is ignored": {
			pod:      `{"metadata":{"annotations":{"tandem.io/inject":"seed","tandem.io/proxy.memory":"1Gi"}}, ` + app + `}`,
			injected: "seed",
		},
		"a pod that is not JSON is a bad request": {
			pod: `{"metadata":`, reason: metav1.StatusReasonBadRequest, inMessage: "not valid JSON",
		},
		"labels of the wrong type are a bad request naming the field": {
			pod:    `{"metadata":{"labels":["a"],"annotations":{"tandem.io/inject":"seed"}}, ` + app + `}`,
			reason: metav1.StatusReasonBadRequest, inMessage: "metadata.labels must be an object",
		},
		"an env name of the wrong type is a bad request naming the field": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"seed"}},"spec":{"containers":[{"name":"app","env":[{"name":1}]}]}}`,
			reason: metav1.StatusReasonBadRequest, inMessage: "spec.containers[].env[].name must be a string",
		},
		"an env entry that is not an object is a bad request naming the field": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"seed"}},"spec":{"containers":[{"name":"app","env":["A=1"]}]}}`,
			reason: metav1.StatusReasonBadRequest, inMessage: "spec.containers[].env[] must be an object",
		},
		"a mount path of the wrong type in an init container names the field": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"seed"}},"spec":{"initContainers":[{"name":"i","volumeMounts":[{"mountPath":{}}]}],"containers":[{"name":"app"}]}}`,
			reason: metav1.StatusReasonBadRequest, inMessage: "spec.initContainers[].volumeMounts[].mountPath must be a string",
		},
		"a volume list that is not JSON is a bad request": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"seed"}},"spec":{"containers":[{"name":"app"}],"volumes":[{"name":"v" "x":1}]}}`,
			reason: metav1.StatusReasonBadRequest, inMessage: "not valid JSON",
		},
		"a pod without spec is a bad request when it asks for sidecars": {
			pod:    `{"metadata":{"annotations":{"tandem.io/inject":"seed"}}}`,
			reason: metav1.StatusReasonBadRequest, inMessage: "no spec",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.ns.Name == "" {
				tc.ns.Name = "default"
			}
			res, err := Inject([]byte(tc.pod), tc.ns, cfg, Options{NativeSidecars: true})
			if tc.reason != "" {
				var denial *Error
				if !errors.As(err, &denial) {
					t.Fatalf("got %v (result %+v), want a %s denial", err, res, tc.reason)
				}
				if denial.Status != tc.reason || !strings.Contains(denial.Message, tc.inMessage) {
					t.Fatalf("denial %s %q, want %s containing %q", denial.Status, denial.Message, tc.reason, tc.inMessage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(res.Injected, ","); got != tc.injected {
				t.Errorf("injected %q, want %q", got, tc.injected)
			}
			if tc.injected == "" && res.Patch != nil {
				t.Errorf("a patch without injection: %s", res.Patch)
			}
			if !strings.Contains(res.Message, tc.inMessage) {
				t.Errorf("message %q, want it to contain %q", res.Message, tc.inMessage)
			}
			if tc.warningHas != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tc.warningHas) {
				t.Errorf("warnings %q, want one containing %q", res.Warnings, tc.warningHas)
			}
		})
	}
}

// The engine's denials reach the result through types, not through assertions that
// would panic on any other error: knobValues and plan.add return *Error. (A compile-time
// check: on code that returned error and asserted, this does not build.)
var (
	_ func(*podView, []*config.Sidecar, *config.Config) (map[string]map[string]string, *Error) = knobValues
	_ func(*plan, *config.Sidecar, map[string]string) (*SidecarDecision, *Error)               = (*plan).add
)
