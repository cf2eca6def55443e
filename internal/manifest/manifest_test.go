package manifest

import (
	"bytes"
	"strings"
	"testing"
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

// FuzzRead feeds arbitrary bytes to the manifest reader: never a panic, and whatever it
// reads can be written back out.
func FuzzRead(f *testing.F) {
	f.Add([]byte("kind: Pod\n---\nkind: List\nitems: [{kind: Pod}]\n"))
	f.Add([]byte(`{"kind":"Deployment","spec":{"template":{}}}`))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Read(data)
		if err != nil {
			return
		}
		_ = Transform(docs, func(pod []byte, _ string) ([]byte, error) { return pod, nil })
		var out bytes.Buffer
		if err := WriteYAML(&out, docs); err != nil {
			t.Fatalf("read but cannot write back: %v", err)
		}
	})
}
