package explain

import (
	"fmt"
	"strings"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/manifest"
)

// Offline is what a command without a cluster knows of it: the flags `tandem inject` and
// `tandem explain -f` share.
type Offline struct {
	Config *config.Config
	// Namespace is the namespace of objects that name none; NamespaceLabels are that
	// namespace's labels, as known for sure. Any other namespace is taken to have none.
	Namespace       string
	NamespaceLabels map[string]string
	Options         inject.Options
}

// NamespaceOf is the namespace the engine sees for an object of namespace ns ("" when
// the manifest names none). For a namespace whose pods the webhook configuration never
// sends to Tandem, excluded says so, in a warning: the pod is to be left alone.
func (o Offline) NamespaceOf(ns string) (target inject.Namespace, excluded string) {
	if ns == "" {
		ns = o.Namespace
	}
	target = inject.Namespace{Name: ns, LabelsKnown: true}
	if ns == o.Namespace {
		target.Labels = o.NamespaceLabels
	}
	if config.IsSystemNamespace(ns) {
		excluded = fmt.Sprintf("namespace %s is never sent to Tandem: the webhook configuration always excludes the system namespaces (%s); left as it is",
			ns, strings.Join(config.SystemNamespaces, ", "))
	}
	return target, excluded
}

// Manifests explains every Pod and every workload's pod template in docs, List items
// included, in the order they come, and passes to warn (which may be nil) the warnings
// `tandem inject` gives on the same input. Which objects count, and where their
// templates are, is manifest.TransformObjects' business, so that explain and inject see
// the same pods. An error (an object without a kind, a workload without its template)
// names the document and the object.
func Manifests(docs []manifest.Document, in Offline, warn manifest.WarnFunc) ([]Pod, error) {
	if warn == nil {
		warn = func(string) {}
	}
	pods := []Pod{}
	err := manifest.TransformObjects(docs, func(obj manifest.Object, raw []byte) ([]byte, error) {
		ns, excluded := in.NamespaceOf(obj.Namespace)
		x := inject.Explain(raw, ns, in.Config, in.Options)
		named := Object{Kind: obj.Kind, Namespace: ns.Name, Name: obj.Name}
		if excluded != "" {
			warn(obj.Where + ": " + excluded)
			pods = append(pods, Excluded(named, x, excluded))
			return raw, nil
		}
		pods = append(pods, New(named, x, Manifest))
		// What inject would write, so that the warnings about it are the same.
		if x.Denial != nil || x.Result.Patch == nil {
			return raw, nil
		}
		return inject.Apply(raw, x.Result.Patch)
	}, warn)
	if err != nil {
		return nil, err
	}
	return pods, nil
}
