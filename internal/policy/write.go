package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes the objects as multi-document YAML for kubectl apply -f, after a
// comment that says what the policy injects and what it leaves to the webhook.
func (o *Output) WriteYAML(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "# Compiled by tandem compile: %s.\n", o.summary()); err != nil {
		return err
	}
	for _, obj := range o.Objects {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n%s", data); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the objects as a v1 List, as kubectl does.
func (o *Output) WriteJSON(w io.Writer) error {
	items := make([]runtime.RawExtension, len(o.Objects))
	for i, obj := range o.Objects {
		items[i].Object = obj
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
}

func (o *Output) summary() string {
	s := "the policy injects " + strings.Join(o.Compiled, ", ")
	if len(o.Webhook) > 0 {
		s += "; pods that ask for " + strings.Join(o.Webhook, ", ") + " are left to the webhook"
	}
	return s
}
