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

// additions are rendered JSON values, in the order they will be patched in.
type additions struct {
	labels, annotations []keyValue
	initContainers      []rendered // inserted before the pod's own init containers
	containers          []rendered
	volumes             []rendered
	pullSecrets         []string
	env, mounts         [][]rendered // per pod container
	envNames            [][]string   // per pod container: names added by sidecars
	mountPaths          [][]string   // per pod container: paths added by sidecars
}

// rendered is one part's JSON; native marks a container that becomes a native sidecar.
type rendered struct {
	json   []byte
	native bool
}

type keyValue struct {
	key   string
	value []byte
}

// newPlan returns an empty plan for pod, from the pool: release it when done.
func newPlan(pod *podView, ns Namespace, opts Options) *plan {
	p := plans.Get().(*plan)
	a, n := &p.adds, len(pod.Spec.Containers)
	// Reset whole, keeping only the memory of the slices: nothing of the last pod stays.
	*p = plan{
		pod: pod, native: opts.NativeSidecars,
		data:   tmpl.Data{Namespace: tmpl.Namespace{Name: ns.Name, Labels: ns.Labels}},
		status: p.status[:0], skipped: p.skipped[:0], rendered: p.rendered[:0], patch: p.patch[:0],
		adds: additions{
			labels: a.labels[:0], annotations: a.annotations[:0],
			initContainers: a.initContainers[:0], containers: a.containers[:0], volumes: a.volumes[:0],
			pullSecrets: a.pullSecrets[:0],
			env:         emptied(a.env, n), mounts: emptied(a.mounts, n),
			envNames: emptied(a.envNames, n), mountPaths: emptied(a.mountPaths, n),
		},
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
	for _, list := range [][]config.Part{sc.InitContainers, sc.Containers} {
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
	for _, v := range sc.Volumes {
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
		return slices.ContainsFunc(sc.Containers, named(name)) || slices.ContainsFunc(sc.InitContainers, named(name))
	})
}

func (p *plan) volumeOwner(name string) string {
	if slices.Contains(p.pod.Spec.Volumes, name) {
		return OwnerPod
	}
	return p.sidecarOwning(func(sc *config.Sidecar) bool { return slices.ContainsFunc(sc.Volumes, named(name)) })
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
		return slices.ContainsFunc(sc.Containers, func(c config.Part) bool { return slices.Contains(c.Ports, port) })
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
	a := &p.adds
	for _, c := range sc.InitContainers {
		a.initContainers = append(a.initContainers, rendered{json: r.part(c)})
	}
	for _, c := range sc.Containers {
		if native {
			a.initContainers = append(a.initContainers, rendered{json: r.part(c), native: true})
		} else {
			a.containers = append(a.containers, rendered{json: r.part(c)})
		}
	}
	for _, v := range sc.Volumes {
		a.volumes = append(a.volumes, rendered{json: r.part(v)})
	}
	a.labels = p.addKeys(a.labels, sc.Labels, p.pod.labels(), &r)
	a.annotations = p.addKeys(a.annotations, sc.Annotations, p.pod.annotations(), &r)
	for i, c := range p.pod.Spec.Containers {
		a.env[i], a.envNames[i] = addMissing(a.env[i], a.envNames[i], sc.Env, c.Env, &r)
		a.mounts[i], a.mountPaths[i] = addMissing(a.mounts[i], a.mountPaths[i], sc.VolumeMounts, c.VolumeMounts, &r)
	}
	for _, s := range sc.ImagePullSecrets {
		if !slices.Contains(p.pod.Spec.ImagePullSecrets, s) && !slices.Contains(a.pullSecrets, s) {
			a.pullSecrets = append(a.pullSecrets, s)
		}
	}
	if r.err != nil {
		p.adds.restore(saved)
		return fmt.Errorf("a template failed: %v", r.err)
	}
	return nil
}

// addKeys adds the labels or annotations that neither the pod nor an earlier sidecar set.
func (p *plan) addKeys(dst []keyValue, parts []config.Part, pod map[string]string, r *renderer) []keyValue {
	for _, part := range parts {
		if _, taken := pod[part.Name]; taken || slices.ContainsFunc(dst, func(kv keyValue) bool { return kv.key == part.Name }) {
			continue
		}
		dst = append(dst, keyValue{part.Name, r.part(part)})
	}
	return dst
}

// addMissing adds the env vars (or mounts) a pod container has neither set itself (have)
// nor received from an earlier sidecar (added). A container may have a thousand env vars
// and a sidecar a few: scanning is cheaper than building a set.
func addMissing(dst []rendered, added []string, parts []config.Part, have []string, r *renderer) ([]rendered, []string) {
	for _, part := range parts {
		if !slices.Contains(have, part.Name) && !slices.Contains(added, part.Name) {
			dst = append(dst, rendered{json: r.part(part)})
			added = append(added, part.Name)
		}
	}
	return dst, added
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
	s.env, s.mounts = slices.Clone(a.env), slices.Clone(a.mounts)
	s.envNames, s.mountPaths = slices.Clone(a.envNames), slices.Clone(a.mountPaths)
	return s
}

func (a *additions) restore(s additions) { *a = s }

func protocol(p string) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return corev1.Protocol(p)
}
