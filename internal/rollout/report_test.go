package rollout

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func samplePlan() *Plan {
	web := Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	debug := Ref{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "debug"}
	image := Change{Sidecar: "proxy", Part: "container proxy", Field: "image", From: "envoy:v1.31.0", To: "envoy:v1.32.1", InPlace: true, Container: "proxy"}
	return &Plan{Cluster: Cluster{NativeSidecars: true, NativeSidecarImages: true, Resize: true}, Pods: 4,
		Counts: map[Action]int{ActionInPlace: 2, ActionManual: 1, ActionNone: 1},
		Owners: []OwnerPlan{
			{Owner: web, Total: 3, Pods: []PodResult{
				{PodPlan: PodPlan{Namespace: "shop", Name: "web-a", Owner: web, Action: ActionInPlace, Changes: []Change{image}}, Outcome: OutcomeUpdated},
				{PodPlan: PodPlan{Namespace: "shop", Name: "web-b", Owner: web, Action: ActionInPlace, Changes: []Change{image}}, Outcome: OutcomeRolledBack, Error: "container proxy: ErrImagePull"},
			}},
			{Owner: debug, Total: 1, Pods: []PodResult{
				{PodPlan: PodPlan{Namespace: "shop", Name: "debug", Owner: debug, Action: ActionManual, Reason: "a bare pod: delete it and create it again",
					Changes: []Change{{Sidecar: "proxy", Part: "env HTTP_PROXY"}}}},
			}},
		}}
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	if err := Write(&b, "text", samplePlan()); err != nil {
		t.Fatal(err)
	}
	want := `Deployment shop/web: 2 pods of 3
  web-a  in-place  [updated]
      proxy: image envoy:v1.31.0 → envoy:v1.32.1
  web-b  in-place  [rolled-back] container proxy: ErrImagePull
      proxy: image envoy:v1.31.0 → envoy:v1.32.1

Pod shop/debug (a bare pod: no controller)
  debug  manual: a bare pod: delete it and create it again
      proxy: env HTTP_PROXY changed

2 in-place, 0 restart, 1 manual, 0 paused; 1 current (4 pods looked at).
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// JSON and YAML say the same: each pod's plan with its outcome, and the counts.
func TestWriteJSONAndYAML(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			var b strings.Builder
			if err := Write(&b, format, samplePlan()); err != nil {
				t.Fatal(err)
			}
			js := []byte(b.String())
			if format == "yaml" {
				var err error
				if js, err = yaml.YAMLToJSON(js); err != nil {
					t.Fatal(err)
				}
			}
			var got struct {
				Counts map[string]int `json:"counts"`
				Owners []struct {
					Owner Ref `json:"owner"`
					Pods  []struct {
						Name    string   `json:"name"`
						Action  string   `json:"action"`
						Outcome string   `json:"outcome"`
						Changes []Change `json:"changes"`
					} `json:"pods"`
				} `json:"owners"`
			}
			if err := json.Unmarshal(js, &got); err != nil {
				t.Fatalf("%v:\n%s", err, b.String())
			}
			if len(got.Owners) != 2 || got.Owners[0].Owner.Name != "web" || got.Owners[0].Pods[1].Outcome != "rolled-back" ||
				got.Owners[0].Pods[0].Changes[0].To != "envoy:v1.32.1" || got.Counts["in-place"] != 2 || got.Counts["none"] != 1 {
				t.Errorf("decoded %+v from:\n%s", got, b.String())
			}
		})
	}
}
