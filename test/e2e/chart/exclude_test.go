package chart

import (
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

// systemNamespaces are never sent to Tandem, whatever the values say: a pod there must
// never wait on Tandem, nor Tandem's own pods (the release namespace).
var systemNamespaces = []string{"kube-system", "kube-node-lease", "kube-public", installNS}

// webhook.excludeNamespaces adds to the system namespaces; no value of it, empty or
// null included, sends a system namespace's pods to Tandem.
func TestExcludeNamespacesAddsToTheSystemOnes(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		extra []string
	}{
		{"the defaults", nil, nil},
		{"a list of its own", []string{"--set", "webhook.excludeNamespaces={monitoring,cert-manager}"}, []string{"monitoring", "cert-manager"}},
		{"an empty list", []string{"--set-json", "webhook.excludeNamespaces=[]"}, nil},
		{"null", []string{"--set-json", "webhook.excludeNamespaces=null"}, nil},
		{"a system namespace again", []string{"--set", "webhook.excludeNamespaces={kube-system,shop}"}, []string{"shop"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := objects(t, render(t, c.args...))
			mwc := only[admissionregistrationv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration")
			want := append(slices.Clone(systemNamespaces), c.extra...)
			slices.Sort(want)
			for _, w := range mwc.Webhooks {
				got := excludedBy(w)
				if !slices.Equal(got, want) {
					t.Errorf("entry %s excludes %v, want %v", w.Name, got, want)
				}
			}
		})
	}
}

// excludedBy lists, sorted, the namespaces an entry's namespaceSelector leaves out by
// name (nil if it has no such expression).
func excludedBy(w admissionregistrationv1.MutatingWebhook) []string {
	if w.NamespaceSelector == nil {
		return nil
	}
	var names []string
	for _, r := range w.NamespaceSelector.MatchExpressions {
		if r.Key == "kubernetes.io/metadata.name" && r.Operator == "NotIn" {
			names = append(names, r.Values...)
		}
	}
	slices.Sort(names)
	return names
}
