package explain

import (
	"maps"
	"strings"
	"testing"
)

// The labels given are those of the namespace named; other namespaces have none, and
// the system namespaces are left alone.
func TestNamespaceOf(t *testing.T) {
	in := Offline{Namespace: "shop", NamespaceLabels: map[string]string{"tandem.io/inject": "seed"}}
	tests := map[string]struct {
		object, name string
		labels       map[string]string
		excluded     bool
	}{
		"an object that names none":        {object: "", name: "shop", labels: in.NamespaceLabels},
		"an object of the namespace named": {object: "shop", name: "shop", labels: in.NamespaceLabels},
		"an object of another namespace":   {object: "elsewhere", name: "elsewhere"},
		"kube-system":                      {object: "kube-system", name: "kube-system", excluded: true},
		"kube-node-lease":                  {object: "kube-node-lease", name: "kube-node-lease", excluded: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns, excluded := in.NamespaceOf(tc.object)
			if ns.Name != tc.name || !ns.LabelsKnown || !maps.Equal(ns.Labels, tc.labels) {
				t.Errorf("namespace %+v, want %s with labels %v", ns, tc.name, tc.labels)
			}
			if (excluded != "") != tc.excluded || (tc.excluded && !strings.HasPrefix(excluded, "namespace "+tc.name+" is never sent to Tandem")) {
				t.Errorf("excluded %q, want excluded=%v", excluded, tc.excluded)
			}
		})
	}
	// -n kube-system: objects that name no namespace land there, and are left alone.
	if _, excluded := (Offline{Namespace: "kube-system"}).NamespaceOf(""); excluded == "" {
		t.Error("-n kube-system: objects without a namespace are injected")
	}
}
