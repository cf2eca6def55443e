package policy

import (
	"errors"
	"fmt"

	"github.com/tandem-io/tandem/internal/config"
)

// sidecarCEL is one sidecar's parts as CEL values, ready to be placed in the program.
type sidecarCEL struct {
	sc *config.Sidecar
	id string // start of its variables' names

	// lists holds, at each field's position in config.Fields, the CEL values of its items
	// (a native sidecar's containers with the init containers), and entries those of a
	// metadata map's.
	lists   [len(config.Fields)][]string
	entries [len(config.Fields)][]keyed
}

type keyed struct{ key, value string }

// Problem is a part of a sidecar that cannot be compiled exactly.
type Problem struct {
	Sidecar string
	Field   string
	Detail  string
}

func (p Problem) String() string {
	return fmt.Sprintf("sidecar %q: %s: %s", p.Sidecar, p.Field, p.Detail)
}

// compileSidecar translates every part of sc; it reports each part that has no exact CEL
// form, not only the first.
func compileSidecar(sc *config.Sidecar) (*sidecarCEL, []Problem) {
	out := &sidecarCEL{sc: sc, id: ident(sc.Name)}
	t := templateCEL{sidecar: sc.Name, knobs: "variables." + out.id + "_knobs"}
	var problems []Problem
	part := func(field string, p config.Part) string {
		e, err := literal(field, p.Source, t.translate)
		for _, err := range flatten(err) {
			var u *Unsupported
			if !errors.As(err, &u) {
				u = &Unsupported{What: err.Error()}
			}
			problems = append(problems, Problem{Sidecar: sc.Name, Field: fieldOf(err, field), Detail: u.What})
		}
		return e
	}
	for i := range config.Fields {
		f := &config.Fields[i]
		for j, p := range sc.Parts[i] {
			switch {
			case f.Placement == config.InMetadata:
				out.entries[i] = append(out.entries[i], keyed{p.Name, part(f.Key+"["+p.Name+"]", p)})
			case f.NameOnly:
				out.lists[i] = append(out.lists[i], quote(p.Name))
			case f.Native && sc.Native != config.NativeNever:
				// A cluster with MutatingAdmissionPolicy has native sidecars (Kubernetes
				// >= 1.29), so native: auto means native.
				p.Source = nativeSource(p.Source)
				out.lists[config.FieldInitContainers] = append(out.lists[config.FieldInitContainers], part(fmt.Sprintf("%s[%d]", f.Key, j), p))
			default:
				out.lists[i] = append(out.lists[i], part(fmt.Sprintf("%s[%d]", f.Key, j), p))
			}
		}
	}
	return out, problems
}

// nativeSource is a container as a native sidecar: restartPolicy Always, unless the
// container sets one itself (the engine writes its own first, so the container's wins).
func nativeSource(source any) any {
	m, ok := source.(map[string]any)
	if !ok {
		return source
	}
	if _, set := m["restartPolicy"]; set {
		return m
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out["restartPolicy"] = "Always"
	return out
}

// fieldOf is the field a literal error names, or field.
func fieldOf(err error, field string) string {
	var f *fieldError
	if errors.As(err, &f) {
		return f.path
	}
	return field
}

// flatten lists the errors errors.Join put together.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
