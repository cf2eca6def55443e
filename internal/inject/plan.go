package inject

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/tmpl"
)

// plan collects what the chosen sidecars add to one pod, rendered and checked for clashes,
// before the patch is written. What the pod already has always wins. Pods have a handful
// of containers, volumes and ports, so the taken names are slices searched in place:
// cheaper than maps on the admission path.
type plan struct {
	pod    *podView
	data   tmpl.Data
	native bool

	adds    additions
	status  []injected
	skipped []skippedSidecar

	// Memory kept between pods when the plan is pooled: what the renderers wrote, and
	// the patch being written.
	rendered, patch []byte
}

// plans recycles plans, with the slices and buffers they grew, across admissions: most of
// what an admission would otherwise allocate.
var plans = sync.Pool{New: func() any { return new(plan) }}

// additions are what the sidecars add to the pod, rendered, field by field at the
// field's position in config.Fields, each in the order it will be patched in.
type additions [len(config.Fields)]addition

// addition is what the sidecars add for one field: the items of one of the pod's lists or
// the entries of one of its maps (items), or, for a field of every container, the items
// of each of the pod's containers (each).
type addition struct {
	items []rendered
	each  [][]rendered
}

// rendered is one part's JSON and its name: what it is compared with the pod's on (a
// name, a mount path, a key). native marks a container that becomes a native sidecar.
type rendered struct {
	name   string
	json   []byte
	native bool
}

// emptied returns the additions with nothing in them, for a pod of n containers, keeping
// the memory of a's lists.
func (a *additions) emptied(n int) additions {
	var out additions
	for i := range a {
		each := 0
		if config.Fields[i].Placement == config.InEachContainer {
			each = n
		}
		out[i] = addition{items: a[i].items[:0], each: emptied(a[i].each, each)}
	}
	return out
}

// newPlan returns an empty plan for pod, from the pool: release it when done.
func newPlan(pod *podView, ns Namespace, opts Options) *plan {
	p := plans.Get().(*plan)
	// Reset whole, keeping only the memory of the slices: nothing of the last pod stays.
	*p = plan{
		pod: pod, native: opts.NativeSidecars,
		data:   tmpl.Data{Namespace: tmpl.Namespace{Name: ns.Name, Labels: ns.Labels}},
		status: p.status[:0], skipped: p.skipped[:0], rendered: p.rendered[:0], patch: p.patch[:0],
		adds: p.adds.emptied(len(pod.Spec.Containers)),
	}
	if m := pod.Metadata; m != nil {
		p.data.Pod = tmpl.Pod{Name: m.Name, GenerateName: m.GenerateName, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations}
	}
	return p
}

// release puts p back in the pool. Nothing it holds may be used afterwards: Result
// copies what it keeps.
func (p *plan) release() {
	p.pod, p.data = nil, tmpl.Data{} // do not keep the pod's bytes alive...
	clear(p.status)                  // ...nor a config that a reload has replaced
	if cap(p.rendered) > maxPooledBuffer || cap(p.patch) > maxPooledBuffer {
		return
	}
	plans.Put(p)
}

// maxPooledBuffer keeps a rare huge sidecar from pinning its buffers in the pool.
const maxPooledBuffer = 256 << 10

// emptied returns lists with n empty lists, reusing their memory.
func emptied[T any](lists [][]T, n int) [][]T {
	lists = slices.Grow(lists[:0], n)[:n]
	for i := range lists {
		lists[i] = lists[i][:0]
	}
	return lists
}

// add renders sc into the plan. A clash or a template that fails denies the pod when the
// sidecar is mandatory (an *Error), and leaves the sidecar out when not (skipped).
func (p *plan) add(sc *config.Sidecar, values map[string]string) (skipped *SidecarDecision, denial *Error) {
	reason, problems := p.clashes(sc)
	if len(problems) == 0 {
		if err := p.render(sc, values); err != nil {
			reason, problems = ReasonTemplateFailed, append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		all := strings.Join(problems, ProblemSeparator)
		if sc.FailurePolicy == config.FailurePolicyIgnore {
			p.skipped = append(p.skipped, skippedSidecar{Name: sc.Name, Reason: reason})
			return &SidecarDecision{Name: sc.Name, Decision: DecisionSkipped, Reason: reason, Message: ClashSkip(sc.Name, all)}, nil
		}
		return nil, deny(reason, sc.Name, metav1.StatusReasonConflict, ClashDenial(sc.Name, all))
	}
	p.status = append(p.status, injected{StatusSidecar{Name: sc.Name, Hash: sc.Hash}, sc})
	return nil, nil
}

// clashes lists every name and port of sc that the pod or an earlier sidecar has taken,
// and names the first kind of clash.
func (p *plan) clashes(sc *config.Sidecar) (Reason, []string) {
	var problems []string
	var reason Reason
	clash := func(r Reason, problem string) {
		if reason == "" {
			reason = r
		}
		problems = append(problems, problem)
	}
	for _, list := range [][]config.Part{sc.Parts[config.FieldInitContainers], sc.Parts[config.FieldContainers]} {
		for _, c := range list {
			if owner := p.containerOwner(c.Name); owner != "" {
				clash(ReasonNameClash, ContainerNameTaken(c.Name, owner))
			}
			for _, port := range c.Ports {
				if owner := p.portOwner(port); owner != "" {
					clash(ReasonPortClash, PortTaken(PortName(port.Number, string(port.Protocol)), c.Name, owner))
				}
			}
		}
	}
	for _, v := range sc.Parts[config.FieldVolumes] {
		if owner := p.volumeOwner(v.Name); owner != "" {
			clash(ReasonNameClash, VolumeNameTaken(v.Name, owner))
		}
	}
	return reason, problems
}

func (p *plan) containerOwner(name string) string {
	spec := p.pod.Spec
	for _, list := range [][]containerView{spec.Containers, spec.InitContainers} {
		for _, c := range list {
			if c.Name == name {
				return OwnerPod
			}
		}
	}
	return p.sidecarOwning(func(sc *config.Sidecar) bool {
		return slices.ContainsFunc(sc.Parts[config.FieldContainers], named(name)) || slices.ContainsFunc(sc.Parts[config.FieldInitContainers], named(name))
	})
}

func (p *plan) volumeOwner(name string) string {
	if slices.Contains(p.pod.Spec.Names[config.FieldVolumes], name) {
		return OwnerPod
	}
	return p.sidecarOwning(func(sc *config.Sidecar) bool { return slices.ContainsFunc(sc.Parts[config.FieldVolumes], named(name)) })
}

func (p *plan) portOwner(port config.Port) string {
	spec := p.pod.Spec
	for _, list := range [][]containerView{spec.Containers, spec.InitContainers} {
		for _, c := range list {
			for _, cp := range c.Ports {
				if cp.ContainerPort == port.Number && protocol(cp.Protocol) == port.Protocol {
					return PodContainerOwner(c.Name)
				}
			}
		}
	}
	return p.sidecarOwning(func(sc *config.Sidecar) bool {
		return slices.ContainsFunc(sc.Parts[config.FieldContainers], func(c config.Part) bool { return slices.Contains(c.Ports, port) })
	})
}

// sidecarOwning names the first sidecar already in the plan for which has is true.
func (p *plan) sidecarOwning(has func(*config.Sidecar) bool) string {
	for _, in := range p.status {
		if in.sidecar != nil && has(in.sidecar) {
			return SidecarOwner(in.Name)
		}
	}
	return ""
}

func named(name string) func(config.Part) bool {
	return func(p config.Part) bool { return p.Name == name }
}

// render executes sc's templates into the plan. If one fails, what sc added is taken out
// again for a best-effort sidecar; for a mandatory one the pod is denied anyway.
func (p *plan) render(sc *config.Sidecar, values map[string]string) error {
	var saved additions
	if sc.FailurePolicy == config.FailurePolicyIgnore {
		saved = p.adds.snapshot()
	}
	d := p.data
	d.Values, d.Sidecar = values, sc.Name
	native := sc.Native == config.NativeAlways || (sc.Native == config.NativeAuto && p.native)
	r := renderer{data: &d, buf: p.rendered}
	defer func() { p.rendered = r.buf }()
	// The pod's lists, its metadata, then each container's lists: the order templates run
	// in, which decides the failure reported when several fail.
	for _, place := range [...]config.Placement{config.InPod, config.InMetadata} {
		for i := range config.Fields {
			if config.Fields[i].Placement == place {
				p.addItems(i, sc.Parts[i], native, &r)
			}
		}
	}
	spec := p.pod.Spec
	for c := range spec.Containers {
		for i := range config.Fields {
			if config.Fields[i].Placement == config.InEachContainer {
				each := p.adds[i].each
				each[c] = addMissing(each[c], sc.Parts[i], spec.Containers[c].Names[i], &r)
			}
		}
	}
	if r.err != nil {
		p.adds.restore(saved)
		return fmt.Errorf("a template failed: %v", r.err)
	}
	return nil
}

// addItems adds the parts of the field at i of config.Fields to the pod's list or map.
// Where the field does not clash, what neither the pod nor an earlier sidecar has is
// added: the first one's wins. A native sidecar's containers go with the init containers.
func (p *plan) addItems(i int, parts []config.Part, native bool, r *renderer) {
	f := &config.Fields[i]
	dst, native := i, native && f.Native
	if native {
		dst = config.FieldInitContainers
	}
	for _, part := range parts {
		if !f.Clashes && (p.pod.has(f, i, part.Name) || slices.ContainsFunc(p.adds[i].items, renderedNamed(part.Name))) {
			continue
		}
		p.adds[dst].items = append(p.adds[dst].items, rendered{name: part.Name, json: r.part(part), native: native})
	}
}

// addMissing adds the env vars (or mounts) a pod container has neither set itself (have)
// nor received from an earlier sidecar. A container may have a thousand env vars and a
// sidecar a few: scanning is cheaper than building a set.
func addMissing(dst []rendered, parts []config.Part, have []string, r *renderer) []rendered {
	for _, part := range parts {
		if !slices.Contains(have, part.Name) && !slices.ContainsFunc(dst, renderedNamed(part.Name)) {
			dst = append(dst, rendered{name: part.Name, json: r.part(part)})
		}
	}
	return dst
}

func renderedNamed(name string) func(rendered) bool {
	return func(r rendered) bool { return r.name == name }
}

// renderer renders parts into one growing buffer, handing out a slice of it for each,
// and keeps the first error. One buffer per sidecar instead of one per part: admission
// allocates little.
type renderer struct {
	data *tmpl.Data
	buf  []byte
	err  error
}

func (r *renderer) part(p config.Part) []byte {
	if r.err != nil {
		return nil
	}
	if r.buf == nil {
		r.buf = make([]byte, 0, 4096)
	}
	// Parts of pods rendered before are dead once the plan is reused; parts of this pod
	// are never overwritten (see below).
	start := len(r.buf)
	r.buf, r.err = p.JSON.Append(r.buf, r.data)
	// A full slice expression, so that nothing appended later can reach into this part;
	// when buf grows, earlier parts keep the old array.
	return r.buf[start:len(r.buf):len(r.buf)]
}

// snapshot records the lengths of the additions so a failed render can be undone.
func (a *additions) snapshot() additions {
	s := *a
	for i := range s {
		s[i].each = slices.Clone(s[i].each)
	}
	return s
}

func (a *additions) restore(s additions) { *a = s }

func protocol(p string) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return corev1.Protocol(p)
}
