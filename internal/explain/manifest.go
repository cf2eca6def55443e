package explain

import (
	"fmt"
	"strings"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/manifest"
)

// Offline is what an explanation without a cluster knows of it: the flags of `tandem
// inject`, which it shares.
type Offline struct {
	Config *config.Config
	// Namespace is the namespace of objects that name none; NamespaceLabels are the
	// labels of every namespace, as known for sure.
	Namespace       string
	NamespaceLabels map[string]string
	Options         inject.Options
}

// Manifests explains every Pod and every workload's pod template in docs, List items
// included, in the order they come. Which objects count, and where their templates are,
// is manifest.Transform's business, so that explain and `tandem inject` see the same
// pods. An error (an object without a kind, a workload without its template) names
// the document and the object.
func Manifests(docs []manifest.Document, in Offline) ([]Pod, error) {
	pods := []Pod{}
	for _, d := range docs {
		if err := explainObject(d.Number, d.Object, in, &pods); err != nil {
			return nil, err
		}
	}
	return pods, nil
}

// explainObject hands Transform one object at a time, so that each template it finds
// can be named after the object it belongs to. Lists are opened here for the same
// reason; Transform would open them the same way.
func explainObject(number int, obj map[string]any, in Offline, pods *[]Pod) error {
	if isList(obj) {
		items, _ := obj["items"].([]any)
		for i, it := range items {
			if it == nil {
				continue
			}
			item, ok := it.(map[string]any)
			if !ok {
				return fmt.Errorf("document %d (%s): items[%d] is not a Kubernetes object", number, describe(obj), i)
			}
			if err := explainObject(number, item, in, pods); err != nil {
				return err
			}
		}
		return nil
	}
	doc := []manifest.Document{{Number: number, Object: obj}}
	return manifest.Transform(doc, func(raw []byte, namespace string) ([]byte, error) {
		if namespace == "" {
			namespace = in.Namespace
		}
		ns := inject.Namespace{Name: namespace, Labels: in.NamespaceLabels, LabelsKnown: true}
		x := inject.Explain(raw, ns, in.Config, in.Options)
		kind, _ := obj["kind"].(string)
		*pods = append(*pods, New(Object{Kind: kind, Namespace: namespace, Name: nameOf(obj)}, x, Manifest))
		return raw, nil
	})
}

// isList is manifest's rule for a List: kind List, or a kind ending in List with items
// (a PodList, as kubectl get -o yaml writes it).
func isList(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	return kind == "List" || (strings.HasSuffix(kind, "List") && len(kind) > 4 && obj["items"] != nil)
}

// nameOf is the object's name, or its generateName when it has none yet.
func nameOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	if name, _ := meta["name"].(string); name != "" {
		return name
	}
	name, _ := meta["generateName"].(string)
	return name
}

func describe(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	if name := nameOf(obj); name != "" {
		return kind + " " + name
	}
	return kind
}
