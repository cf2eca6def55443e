package inject

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/tmpl"
)

// plan collects what the chosen sidecars add to one pod, rendered and checked for clashes,
// before the patch is written. What the pod already has always wins.
type plan struct {
	pod    *podView
	data   tmpl.Data
	native bool

	// What is taken, by whom ("the pod", or a sidecar added earlier).
	containerNames map[string]string
	volumeNames    map[string]string
	ports          map[config.Port]string
	labelKeys      map[string]bool
	annotationKeys map[string]bool
	pullSecrets    map[string]bool
	envNames       []map[string]bool // per pod container
	mountPaths     []map[string]bool // per pod container

	adds   additions
	status status
}

// additions are rendered JSON values, in the order they will be patched in.
type additions struct {
	labels, annotations []keyValue
	initContainers      [][]byte // inserted before the pod's own init containers
	containers          [][]byte
	volumes             [][]byte
	pullSecrets         []string
	env, mounts         [][][]byte // per pod container
}

type keyValue struct {
	key   string
	value []byte
}

func newPlan(pod *podView, ns Namespace, opts Options) *plan {
	p := &plan{
		pod:            pod,
		native:         opts.NativeSidecars,
		containerNames: map[string]string{},
		volumeNames:    map[string]string{},
		ports:          map[config.Port]string{},
		labelKeys:      map[string]bool{},
		annotationKeys: map[string]bool{},
		pullSecrets:    map[string]bool{},
	}
	if m := pod.Metadata; m != nil {
		p.data.Pod = tmpl.Pod{Name: m.Name, GenerateName: m.GenerateName, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations}
	}
	p.data.Namespace = tmpl.Namespace{Name: ns.Name, Labels: ns.Labels}
	for k := range pod.labels() {
		p.labelKeys[k] = true
	}
	for k := range pod.annotations() {
		p.annotationKeys[k] = true
	}
	spec := pod.Spec
	for _, list := range [][]containerView{spec.Containers, spec.InitContainers} {
		for _, c := range list {
			p.containerNames[c.Name] = "the pod"
			for _, port := range c.Ports {
				p.ports[config.Port{Number: port.ContainerPort, Protocol: protocol(port.Protocol)}] = fmt.Sprintf("container %q", c.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		p.volumeNames[v.Name] = "the pod"
	}
	for _, s := range spec.ImagePullSecrets {
		p.pullSecrets[s.Name] = true
	}
	p.envNames = make([]map[string]bool, len(spec.Containers))
	p.mountPaths = make([]map[string]bool, len(spec.Containers))
	p.adds.env = make([][][]byte, len(spec.Containers))
	p.adds.mounts = make([][][]byte, len(spec.Containers))
	return p
}

// add renders sc into the plan. A clash or a template that fails denies the pod when the
// sidecar is mandatory, and comes back as a warning (the sidecar left out) when not.
func (p *plan) add(sc *config.Sidecar, values map[string]string) (warning string, err error) {
	problems := p.clashes(sc)
	var a additions
	if len(problems) == 0 {
		if err := p.render(sc, values, &a); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		msg := fmt.Sprintf("sidecar %q cannot be injected: %s", sc.Name, strings.Join(problems, "; "))
		if sc.FailurePolicy == config.FailurePolicyIgnore {
			return msg + " (it is best effort, so the pod goes without it)", nil
		}
		return "", deny(metav1.StatusReasonConflict, "%s", msg)
	}
	p.commit(sc, &a)
	return "", nil
}

// clashes lists every name and port of sc that the pod or an earlier sidecar has taken.
func (p *plan) clashes(sc *config.Sidecar) []string {
	var problems []string
	for _, list := range [][]config.Part{sc.InitContainers, sc.Containers} {
		for _, c := range list {
			if owner, ok := p.containerNames[c.Name]; ok {
				problems = append(problems, fmt.Sprintf("container name %q is already used by %s", c.Name, owner))
			}
			for _, port := range c.Ports {
				if owner, ok := p.ports[port]; ok {
					problems = append(problems, fmt.Sprintf("port %d/%s of container %q is already used by %s", port.Number, port.Protocol, c.Name, owner))
				}
			}
		}
	}
	for _, v := range sc.Volumes {
		if owner, ok := p.volumeNames[v.Name]; ok {
			problems = append(problems, fmt.Sprintf("volume name %q is already used by %s", v.Name, owner))
		}
	}
	return problems
}

// render executes sc's templates into a; nothing is added to the plan until all succeed.
func (p *plan) render(sc *config.Sidecar, values map[string]string, a *additions) error {
	d := p.data
	d.Values, d.Sidecar = values, sc.Name
	native := sc.Native == config.NativeAlways || (sc.Native == config.NativeAuto && p.native)
	var err error
	one := func(part config.Part) []byte {
		if err != nil {
			return nil
		}
		var out []byte
		out, err = part.JSON.Render(&d)
		return out
	}
	for _, c := range sc.InitContainers {
		a.initContainers = append(a.initContainers, one(c))
	}
	for _, c := range sc.Containers {
		if js := one(c); native {
			a.initContainers = append(a.initContainers, withRestartAlways(js))
		} else {
			a.containers = append(a.containers, js)
		}
	}
	for _, v := range sc.Volumes {
		a.volumes = append(a.volumes, one(v))
	}
	for _, l := range sc.Labels {
		if !p.labelKeys[l.Name] {
			a.labels = append(a.labels, keyValue{l.Name, one(l)})
		}
	}
	for _, an := range sc.Annotations {
		if !p.annotationKeys[an.Name] {
			a.annotations = append(a.annotations, keyValue{an.Name, one(an)})
		}
	}
	a.env = p.forEachContainer(sc.Env, p.envNames, func(c containerView) []string { return namesOf(c.Env) }, one)
	a.mounts = p.forEachContainer(sc.VolumeMounts, p.mountPaths, func(c containerView) []string { return mountPathsOf(c.VolumeMounts) }, one)
	for _, s := range sc.ImagePullSecrets {
		if !p.pullSecrets[s] {
			a.pullSecrets = append(a.pullSecrets, s)
		}
	}
	if err != nil {
		return fmt.Errorf("a template failed: %v", err)
	}
	return nil
}

// forEachContainer renders the parts that each pod container does not have yet (by env
// name or mount path), so that what the pod set is never overwritten.
func (p *plan) forEachContainer(parts []config.Part, taken []map[string]bool, existing func(containerView) []string, render func(config.Part) []byte) [][][]byte {
	if len(parts) == 0 {
		return nil
	}
	out := make([][][]byte, len(p.pod.Spec.Containers))
	for i, c := range p.pod.Spec.Containers {
		if taken[i] == nil {
			taken[i] = map[string]bool{}
			for _, name := range existing(c) {
				taken[i][name] = true
			}
		}
		for _, part := range parts {
			if !taken[i][part.Name] {
				out[i] = append(out[i], render(part))
			}
		}
	}
	return out
}

// commit adds rendered additions to the plan and marks their names taken.
func (p *plan) commit(sc *config.Sidecar, a *additions) {
	owner := fmt.Sprintf("sidecar %q", sc.Name)
	for _, list := range [][]config.Part{sc.InitContainers, sc.Containers} {
		for _, c := range list {
			p.containerNames[c.Name] = owner
			for _, port := range c.Ports {
				p.ports[port] = fmt.Sprintf("container %q of %s", c.Name, owner)
			}
		}
	}
	for _, v := range sc.Volumes {
		p.volumeNames[v.Name] = owner
	}
	for _, kv := range a.labels {
		p.labelKeys[kv.key] = true
	}
	for _, kv := range a.annotations {
		p.annotationKeys[kv.key] = true
	}
	for _, s := range a.pullSecrets {
		p.pullSecrets[s] = true
	}
	for i := range a.env {
		for _, e := range sc.Env {
			p.envNames[i][e.Name] = true
		}
		p.adds.env[i] = append(p.adds.env[i], a.env[i]...)
	}
	for i := range a.mounts {
		for _, m := range sc.VolumeMounts {
			p.mountPaths[i][m.Name] = true
		}
		p.adds.mounts[i] = append(p.adds.mounts[i], a.mounts[i]...)
	}
	p.adds.labels = append(p.adds.labels, a.labels...)
	p.adds.annotations = append(p.adds.annotations, a.annotations...)
	p.adds.initContainers = append(p.adds.initContainers, a.initContainers...)
	p.adds.containers = append(p.adds.containers, a.containers...)
	p.adds.volumes = append(p.adds.volumes, a.volumes...)
	p.adds.pullSecrets = append(p.adds.pullSecrets, a.pullSecrets...)
	p.status.Sidecars = append(p.status.Sidecars, injected{Name: sc.Name, Hash: sc.Hash})
}

// withRestartAlways makes a rendered container a native sidecar. Rendered containers are
// JSON objects with at least a name, so the member can be put first.
func withRestartAlways(container []byte) []byte {
	if len(container) < 2 || container[0] != '{' {
		return container
	}
	out := make([]byte, 0, len(container)+26)
	out = append(out, `{"restartPolicy":"Always",`...)
	return append(out, container[1:]...)
}

func namesOf(list []named) []string {
	out := make([]string, len(list))
	for i, n := range list {
		out[i] = n.Name
	}
	return out
}

func mountPathsOf(list []mountView) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.MountPath
	}
	return out
}

func protocol(p string) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return corev1.Protocol(p)
}
