package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestReadSplitsDocumentsAndKeepsNumbers(t *testing.T) {
	docs, err := Read([]byte("# a comment\n---\napiVersion: v1\nkind: Pod\nspec: {activeDeadlineSeconds: 12345678901}\n---\n---\n{\"kind\": \"Service\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Object["kind"] != "Pod" || docs[1].Object["kind"] != "Service" {
		t.Fatalf("documents: %+v", docs)
	}
	var out bytes.Buffer
	if err := WriteYAML(&out, docs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "activeDeadlineSeconds: 12345678901") {
		t.Fatalf("a number changed on the way through:\n%s", out.String())
	}
}

func TestReadErrorsNameTheDocument(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"a scalar document":   {"kind: Pod\n---\njust text\n", "document 2: not a Kubernetes object"},
		"broken YAML":         {"kind: Pod\n---\na: [b\n", "document 2: not valid YAML or JSON"},
		"a list at top level": {"- a\n- b\n", "document 1: not a Kubernetes object"},
		// YAML reads this 1,025-byte key as a flow-mapping entry without a value, but could
		// not write it back.
		"a key too long to write back": {"kind: Pod\n---\n{" + strings.Repeat("k", 1025) + "}\n", "document 2: a mapping key is 1025 bytes long"},
		"a nested key too long":        {`{"kind":"Pod","spec":{"containers":[{"` + strings.Repeat("k", 1025) + `":null}]}}`, "document 1: a mapping key is 1025 bytes long"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Read([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestTransformFindsEachPodTemplate(t *testing.T) {
	in := `
kind: CronJob
metadata: {name: c, namespace: jobs}
spec: {jobTemplate: {spec: {template: {metadata: {name: inner}}}}}
---
kind: List
items:
- {kind: Pod, metadata: {name: p}}
- {kind: Deployment, metadata: {name: d}, spec: {template: {metadata: {name: t}}}}
- {kind: ConfigMap, metadata: {name: untouched}}
`
	docs, err := Read([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	err = Transform(docs, func(pod []byte, ns string) ([]byte, error) {
		seen = append(seen, ns+"|"+string(pod))
		return []byte(`{"touched":true}`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`jobs|{"metadata":{"name":"inner"}}`, `|{"kind":"Pod","metadata":{"name":"p"}}`, `|{"metadata":{"name":"t"}}`}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("pods seen:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	items := docs[1].Object["items"].([]any)
	if items[2].(map[string]any)["touched"] != nil || items[0].(map[string]any)["touched"] != true {
		t.Fatalf("results not put back where they belong: %v", items)
	}
}

func TestTransformErrorsNameTheObject(t *testing.T) {
	docs, _ := Read([]byte("kind: Pod\nmetadata: {name: a}\n---\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {}\n"))
	err := Transform(docs, func(pod []byte, _ string) ([]byte, error) { return pod, nil })
	if err == nil || !strings.Contains(err.Error(), "document 2 (Deployment shop/web): it has no spec.template") {
		t.Fatalf("got %v", err)
	}
	docs, _ = Read([]byte("metadata: {name: a}\n"))
	if err := Transform(docs, nil); err == nil || !strings.Contains(err.Error(), "has no kind") {
		t.Fatalf("got %v", err)
	}
}

// FuzzRead feeds arbitrary bytes to the manifest reader: never a panic, whatever it
// reads can be written back out, every warning names its document, and a successful
// transform leaves no null List item behind.
func FuzzRead(f *testing.F) {
	f.Add([]byte("kind: Pod\n---\nkind: List\nitems: [{kind: Pod}]\n"))
	f.Add([]byte(`{"kind":"Deployment","spec":{"template":{}}}`))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("kind: List\nitems: [null, {kind: Pod}, ~, {kind: PodList, items: [null]}]\n"))
	f.Add([]byte(`{"kind":"DeploymentConfig","spec":{"template":{"spec":{"containers":[{"name":"a"}]}}}}`))
	f.Add([]byte("kind: Rollout\nspec: {template: {spec: {containers: null}}}\n---\nkind: X\nspec: {template: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Read(data)
		if err != nil {
			return
		}
		err = TransformWarn(docs, markInjected, func(msg string) {
			if !strings.HasPrefix(msg, "document ") {
				t.Errorf("a warning that does not name its document: %q", msg)
			}
		})
		if err == nil {
			for _, d := range docs {
				if hasNullItem(d.Object) {
					t.Errorf("document %d still holds a null List item", d.Number)
				}
			}
		}
		var out bytes.Buffer
		if err := WriteYAML(&out, docs); err != nil {
			t.Fatalf("read but cannot write back: %v", err)
		}
	})
}

func hasNullItem(obj map[string]any) bool {
	items, _ := obj["items"].([]any)
	kind, _ := obj["kind"].(string)
	if !strings.HasSuffix(kind, "List") {
		return false
	}
	for _, it := range items {
		item, ok := it.(map[string]any)
		if !ok || hasNullItem(item) {
			return true
		}
	}
	return false
}

// markInjected stands in for the engine: it changes every pod it is given, so that the
// tests see which templates reached it and where the result went.
func markInjected(pod []byte, _ string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(pod, &m); err != nil {
		return nil, err
	}
	m["injected"] = true
	return json.Marshal(m)
}

// transformCase runs TransformWarn on in and returns the YAML written back, the pods fn
// saw (namespace|JSON) and the warnings.
func transformCase(t *testing.T, in string, fn PodFunc) (string, []string, []string, error) {
	t.Helper()
	docs, err := Read([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var seen, warnings []string
	err = TransformWarn(docs, func(pod []byte, ns string) ([]byte, error) {
		seen = append(seen, ns+"|"+string(pod))
		return fn(pod, ns)
	}, func(msg string) { warnings = append(warnings, msg) })
	var out bytes.Buffer
	if err := WriteYAML(&out, docs); err != nil {
		t.Fatal(err)
	}
	return out.String(), seen, warnings, err
}

func TestTransformInjectsPodTemplatesOfKindsItDoesNotKnow(t *testing.T) {
	unchanged := func(pod []byte, _ string) ([]byte, error) { return pod, nil }
	tests := map[string]struct {
		in       string
		fn       PodFunc // markInjected when nil
		seen     []string
		warnings []string
		out      string
	}{
		"an OpenShift DeploymentConfig": {
			in: `apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: web, namespace: shop}
spec: {replicas: 2, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app, image: a}]}}}
`,
			seen:     []string{`shop|{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"a","name":"app"}]}}`},
			warnings: []string{`document 1 (DeploymentConfig shop/web): not a kind Tandem knows; injected its spec.template as a pod template`},
			out: `apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  template:
    injected: true
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: a
        name: app
`,
		},
		"an Argo Rollout, with a strategy beside the template": {
			in: `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: canary}
spec: {strategy: {canary: {steps: [{setWeight: 20}]}}, template: {spec: {containers: [{name: app}]}}}
`,
			seen:     []string{`|{"spec":{"containers":[{"name":"app"}]}}`},
			warnings: []string{`document 1 (Rollout canary): not a kind Tandem knows; injected its spec.template as a pod template`},
			out: `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: canary
spec:
  strategy:
    canary:
      steps:
      - setWeight: 20
  template:
    injected: true
    spec:
      containers:
      - name: app
`,
		},
		"a spec.template without containers is not a pod template": {
			in:  "kind: Pipeline\nmetadata: {name: p}\nspec: {template: {metadata: {name: x}, spec: {steps: [a]}}}\n",
			out: "kind: Pipeline\nmetadata:\n  name: p\nspec:\n  template:\n    metadata:\n      name: x\n    spec:\n      steps:\n      - a\n",
		},
		"containers that are not a list are not a pod spec": {
			in:  "kind: Widget\nspec: {template: {spec: {containers: {app: x}}}}\n",
			out: "kind: Widget\nspec:\n  template:\n    spec:\n      containers:\n        app: x\n",
		},
		"an unknown kind's template nested as in a CronJob is not looked for": {
			in:  "kind: ScheduledRollout\nmetadata: {name: nightly}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: app}]}}}}}\n",
			out: "kind: ScheduledRollout\nmetadata:\n  name: nightly\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: app\n",
		},
		"a known CronJob keeps its nested path and gets no warning": {
			in:   "kind: CronJob\nmetadata: {name: nightly}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: app}]}}}}}\n",
			seen: []string{`|{"spec":{"containers":[{"name":"app"}]}}`},
			out:  "kind: CronJob\nmetadata:\n  name: nightly\nspec:\n  jobTemplate:\n    spec:\n      template:\n        injected: true\n        spec:\n          containers:\n          - name: app\n",
		},
		"a known Deployment gets no warning": {
			in:   "kind: Deployment\nspec: {template: {spec: {containers: [{name: app}]}}}\n",
			seen: []string{`|{"spec":{"containers":[{"name":"app"}]}}`},
			out:  "kind: Deployment\nspec:\n  template:\n    injected: true\n    spec:\n      containers:\n      - name: app\n",
		},
		"a template the engine leaves alone is not worth a warning": {
			in:   "kind: Rollout\nmetadata: {name: r}\nspec: {template: {spec: {containers: [{name: app, resources: {limits: {cpu: 12345678901}}}]}}}\n",
			fn:   unchanged,
			seen: []string{`|{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":12345678901}}}]}}`},
			out:  "kind: Rollout\nmetadata:\n  name: r\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        resources:\n          limits:\n            cpu: 12345678901\n",
		},
		"an unknown kind without a template passes through silently": {
			in:  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
			out: "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n",
		},
		"a List item names its index": {
			in:       "kind: List\nitems:\n- {kind: ConfigMap}\n- {kind: DeploymentConfig, metadata: {name: web}, spec: {template: {spec: {containers: []}}}}\n",
			seen:     []string{`|{"spec":{"containers":[]}}`},
			warnings: []string{`document 1 (List): items[1] (DeploymentConfig web): not a kind Tandem knows; injected its spec.template as a pod template`},
			out:      "items:\n- kind: ConfigMap\n- kind: DeploymentConfig\n  metadata:\n    name: web\n  spec:\n    template:\n      injected: true\n      spec:\n        containers: []\nkind: List\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fn := tc.fn
			if fn == nil {
				fn = markInjected
			}
			out, seen, warnings, err := transformCase(t, tc.in, fn)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.seen, seen, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pods given to the engine (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.warnings, warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.out, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTransformErrorsOnAnUnknownKindNameIt(t *testing.T) {
	_, _, warnings, err := transformCase(t, "kind: Rollout\nmetadata: {name: r}\nspec: {template: {spec: {containers: [{name: app}]}}}\n",
		func([]byte, string) ([]byte, error) { return nil, errors.New("no such sidecar") })
	if err == nil || err.Error() != "document 1 (Rollout r): no such sidecar" {
		t.Fatalf("got %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("a template that failed was reported as injected: %q", warnings)
	}
}

func TestTransformSkipsNullListItems(t *testing.T) {
	pod := func(name string) string { return "{kind: Pod, metadata: {name: " + name + "}}" }
	podOut := func(name string) string {
		return "- injected: true\n  kind: Pod\n  metadata:\n    name: " + name + "\n"
	}
	tests := map[string]struct {
		in       string
		seen     []string
		warnings []string
		out      string
	}{
		"null first": {
			in:       "kind: List\nitems: [null, " + pod("a") + ", " + pod("b") + "]\n",
			seen:     []string{"a", "b"},
			warnings: []string{"document 1 (List): items[0] is null; left it out of the output"},
			out:      "items:\n" + podOut("a") + podOut("b") + "kind: List\n",
		},
		"null in the middle, written as an empty entry": {
			in:       "kind: List\nitems:\n- " + pod("a") + "\n-\n- " + pod("b") + "\n",
			seen:     []string{"a", "b"},
			warnings: []string{"document 1 (List): items[1] is null; left it out of the output"},
			out:      "items:\n" + podOut("a") + podOut("b") + "kind: List\n",
		},
		"null last, written as ~": {
			in:       "kind: List\nitems: [" + pod("a") + ", " + pod("b") + ", ~]\n",
			seen:     []string{"a", "b"},
			warnings: []string{"document 1 (List): items[2] is null; left it out of the output"},
			out:      "items:\n" + podOut("a") + podOut("b") + "kind: List\n",
		},
		"every item null": {
			in:       "apiVersion: v1\nkind: List\nitems: [null, null]\n",
			warnings: []string{"document 1 (List): items[0] is null; left it out of the output", "document 1 (List): items[1] is null; left it out of the output"},
			out:      "apiVersion: v1\nitems: []\nkind: List\n",
		},
		"a typed list in JSON, in a later document": {
			in:       "kind: ConfigMap\n---\n{\"kind\": \"PodList\", \"items\": [" + `{"kind": "Pod", "metadata": {"name": "a"}}` + ", null]}\n",
			seen:     []string{"a"},
			warnings: []string{"document 2 (PodList): items[1] is null; left it out of the output"},
			out:      "kind: ConfigMap\n---\nitems:\n" + podOut("a") + "kind: PodList\n",
		},
		"a List inside a List": {
			in:       "kind: List\nitems: [{kind: List, items: [" + pod("a") + ", null]}]\n",
			seen:     []string{"a"},
			warnings: []string{"document 1 (List): items[0] (List): items[1] is null; left it out of the output"},
			out:      "items:\n- items:\n  - injected: true\n    kind: Pod\n    metadata:\n      name: a\n  kind: List\nkind: List\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, seen, warnings, err := transformCase(t, tc.in, markInjected)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range seen {
				var p struct {
					Metadata struct{ Name string }
				}
				_, js, _ := strings.Cut(s, "|")
				if err := json.Unmarshal([]byte(js), &p); err != nil {
					t.Fatal(err)
				}
				names = append(names, p.Metadata.Name)
			}
			if diff := cmp.Diff(tc.seen, names, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pods given to the engine (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.warnings, warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.out, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			again, _, warnings, err := transformCase(t, out, func(pod []byte, _ string) ([]byte, error) { return pod, nil })
			if err != nil || len(warnings) != 0 || again != out {
				t.Errorf("the output does not read back as it was written: %v %q\n%s", err, warnings, again)
			}
		})
	}
}

func TestTransformStillRefusesListItemsThatAreNotObjects(t *testing.T) {
	_, _, warnings, err := transformCase(t, "kind: List\nitems: [null, just text]\n", markInjected)
	if err == nil || err.Error() != "document 1 (List): items[1] is not a Kubernetes object" {
		t.Fatalf("got %v", err)
	}
	if len(warnings) != 1 {
		t.Errorf("warnings %q, want the one about items[0]", warnings)
	}
}
