package rollout

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/tmpl"
)

// PlanPod decides what a rollout does to pod: render what the configuration would inject
// into that pod now (its annotations, knobs and namespace), compare it with what the pod
// carries, and route the differences by what a running pod accepts and what its owner
// can do. It reads nothing but its arguments.
func PlanPod(pod *corev1.Pod, ns inject.Namespace, owner Owner, cfg *config.Config, cl Cluster) PodPlan {
	p := PodPlan{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, Owner: owner.Ref, Action: ActionNone}
	d := diffPod(pod, ns, cfg, cl)
	if len(d.changes) == 0 {
		return p
	}
	p.Changes = d.changes
	switch {
	case owner.Paused:
		p.Action, p.Reason = ActionPaused, "paused by "+config.KeyPrefix+"rollout on "+owner.PausedBy
	case unmanaged(owner) != "":
		p.Action, p.Reason = ActionManual, unmanaged(owner)
	case d.restart():
		p.Action, p.Reason = ActionRestart, d.restartReason()
		if why := cannotRestart(owner); why != "" {
			p.Action, p.Reason = ActionManual, why
		} else if denial := recreated(pod, ns, cfg, cl); denial != "" {
			p.Action, p.Reason = ActionManual, "a pod created now would be refused: "+denial+"; fix that first, then roll again"
		}
	default:
		p.Action, p.Status = ActionInPlace, d.status
	}
	return p
}

// unmanaged says why Tandem leaves the pod alone whatever its changes, or "" when it
// does not: a pod no controller keeps running, or one that runs a job to its end, is for
// a person to replace, even for a change a running pod would take.
func unmanaged(o Owner) string {
	switch {
	case o.Is("", "Pod"):
		return "a pod nothing controls: Tandem leaves it alone; delete it and create it again to get the current sidecars"
	case o.CronJob:
		return "a pod of a CronJob's Job: Tandem leaves running jobs alone; the next run gets the current sidecars"
	case o.Is("batch", "Job"):
		return "a Job's pod: Tandem leaves running jobs alone; the next Job gets the current sidecars"
	}
	return ""
}

// cannotRestart says why Tandem must not recreate the owner's pods, or "" when it may.
func cannotRestart(o Owner) string {
	switch {
	case o.OnDelete:
		return "the " + o.Kind + "'s updateStrategy is OnDelete: delete its pods to have them recreated"
	case o.Is("apps", "Deployment"), o.Is("apps", "StatefulSet"), o.Is("apps", "DaemonSet"),
		o.Is("apps", "ReplicaSet"), o.Is("", "ReplicationController"):
		return ""
	}
	return "Tandem does not know how to restart a " + o.Kind + " (" + o.APIVersion + "): restart it with its own tooling"
}

// podDiff is what differs between a pod and what the configuration would inject into it.
type podDiff struct {
	changes []Change
	// status is the status annotation that records the in-place changes as done.
	status string
}

func (d *podDiff) restart() bool {
	for _, c := range d.changes {
		if !c.InPlace {
			return true
		}
	}
	return false
}

// restartReason names what a running pod cannot take: the first such change.
func (d *podDiff) restartReason() string {
	for _, c := range d.changes {
		if !c.InPlace {
			if c.Why != "" {
				return c.Why
			}
			return c.String() + ": a running pod cannot take it"
		}
	}
	return ""
}

// diffPod lists the changes a pod needs: missing sidecars, and the parts of carried ones
// whose definition changed.
func diffPod(pod *corev1.Pod, ns inject.Namespace, cfg *config.Config, cl Cluster) podDiff {
	var d podDiff
	a := inject.AuditPod(pod.Labels, pod.Annotations, ns, cfg)
	for _, name := range a.Missing {
		d.changes = append(d.changes, Change{Sidecar: name, Part: "sidecar", From: "missing", To: "injected",
			Why: "sidecar " + name + " is missing: only a new pod gets it"})
	}
	st, err := inject.ParseStatus(pod.Annotations[inject.StatusKey])
	if err != nil {
		return d // no status, or not Tandem's: what is missing is all there is to say
	}
	meta := inject.AdmittedMeta(pod.Name, pod.GenerateName, pod.Namespace, pod.Labels, pod.Annotations)
	updated := false
	for i, e := range st.Sidecars {
		sc := cfg.Sidecar(e.Name)
		if sc == nil {
			d.changes = append(d.changes, Change{Sidecar: e.Name, Part: "sidecar", From: "injected", To: "no longer configured",
				Why: "sidecar " + e.Name + " is no longer configured: only a new pod goes without it"})
			continue
		}
		keys, known := e.Changed(sc)
		if !known {
			d.changes = append(d.changes, Change{Sidecar: e.Name, Part: "definition",
				Why: "sidecar " + e.Name + " was injected before Tandem recorded its parts, and its definition has changed since: restart to be sure"})
			continue
		}
		s := sidecarDiff{pod: pod, sc: sc, cl: cl}
		s.compare(keys, meta, ns, cfg)
		s.placement()
		d.changes = append(d.changes, s.changes...)
		if len(s.changes) > 0 && s.inPlace() {
			st.Sidecars[i], updated = inject.EntryOf(sc), true
		}
	}
	if updated && !d.restart() {
		d.status = st.Format()
	}
	return d
}

// sidecarDiff compares one carried sidecar's changed parts with the pod.
type sidecarDiff struct {
	pod     *corev1.Pod
	sc      *config.Sidecar
	cl      Cluster
	changes []Change
}

func (s *sidecarDiff) inPlace() bool {
	for _, c := range s.changes {
		if !c.InPlace {
			return false
		}
	}
	return true
}

func (s *sidecarDiff) compare(keys []string, meta tmpl.Pod, ns inject.Namespace, cfg *config.Config) {
	var rendered []corev1.Container
	var renderErr error
	needRender := func() {
		if rendered == nil && renderErr == nil {
			rendered, renderErr = inject.Containers(meta, ns, s.sc, cfg)
		}
	}
	record := false
	for _, key := range keys {
		kind, name := config.SplitRecordKey(key)
		if kind != config.RecordImage && kind != config.RecordResources {
			s.changes = append(s.changes, Change{Sidecar: s.sc.Name, Part: inject.PartName(key)})
			continue
		}
		needRender()
		if renderErr != nil {
			s.changes = append(s.changes, Change{Sidecar: s.sc.Name, Part: inject.PartName(key), Why: renderErr.Error()})
			continue
		}
		want := containerNamed(rendered, name)
		live, init := liveContainer(s.pod, name)
		switch {
		case want == nil || live == nil:
			s.changes = append(s.changes, Change{Sidecar: s.sc.Name, Part: "container " + name, From: presence(live), To: presence(want)})
		case kind == config.RecordImage && live.Image != want.Image:
			s.changes = append(s.changes, s.image(name, init, live, want))
		case kind == config.RecordResources && !sameResources(live.Resources, want.Resources):
			s.changes = append(s.changes, s.resize(name, init, live, want))
		default:
			record = true // the definition changed, and renders the same for this pod
		}
	}
	if record && len(s.changes) == 0 {
		s.changes = append(s.changes, Change{Sidecar: s.sc.Name, Part: "record", InPlace: true})
	}
}

// image is the change of a container's image: in place, but for a native sidecar where
// the kubelet would keep running the old one.
func (s *sidecarDiff) image(name string, init bool, live, want *corev1.Container) Change {
	c := Change{Sidecar: s.sc.Name, Part: "container " + name, Field: "image", Container: name, Init: init,
		From: live.Image, To: want.Image}
	if init && !s.cl.NativeSidecarImages {
		c.Why = "the kubelet before Kubernetes 1.32 does not restart a native sidecar whose image changed"
		return c
	}
	c.InPlace, c.Image = true, want.Image
	return c
}

// resize is the change of a container's resources: in place when the cluster resizes
// running pods and the pod's QoS class stays what it is (the API server refuses a resize
// that changes it).
func (s *sidecarDiff) resize(name string, init bool, live, want *corev1.Container) Change {
	c := Change{Sidecar: s.sc.Name, Part: "container " + name, Field: "resources", Container: name, Init: init,
		From: formatResources(live.Resources), To: formatResources(want.Resources)}
	switch {
	case !s.cl.Resize:
		c.Why = "the cluster cannot resize a running pod (no pods/resize subresource)"
	case !resizable(live.Resources, want.Resources):
		c.Why = "only cpu and memory can be resized in place"
	case qosClass(s.pod, name, want.Resources) != qosClass(s.pod, "", corev1.ResourceRequirements{}):
		c.Why = "the resize would change the pod's QoS class, which a running pod keeps"
	default:
		c.InPlace, c.Resources = true, want.Resources.DeepCopy()
	}
	return c
}

// placement checks that each container of the sidecar is where the configuration puts it
// now: a native sidecar (an init container with restartPolicy Always) or a container.
func (s *sidecarDiff) placement() {
	native := s.sc.Native == config.NativeAlways || (s.sc.Native == config.NativeAuto && s.cl.NativeSidecars)
	for _, part := range s.sc.Parts[config.FieldContainers] {
		live, init := liveContainer(s.pod, part.Name)
		if live == nil || init == native {
			continue
		}
		s.changes = append(s.changes, Change{Sidecar: s.sc.Name, Part: "container " + part.Name, From: placementName(init), To: placementName(native)})
	}
}

func placementName(native bool) string {
	if native {
		return "native sidecar"
	}
	return "container"
}

func presence(c *corev1.Container) string {
	if c == nil {
		return "missing"
	}
	return "present"
}

func containerNamed(list []corev1.Container, name string) *corev1.Container {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// liveContainer finds a container of the pod by name, and says whether it is a native
// sidecar (an init container with restartPolicy Always). A regular init container has run
// to completion: nothing of it changes in place.
func liveContainer(pod *corev1.Pod, name string) (c *corev1.Container, native bool) {
	if c := containerNamed(pod.Spec.Containers, name); c != nil {
		return c, false
	}
	if c := containerNamed(pod.Spec.InitContainers, name); c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
		return c, true
	}
	return nil, false
}
