package rollout

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// planConfig is a configuration the planner tests edit: a native proxy whose image and
// cpu come from knobs, and a classic log shipper.
const planConfig = `
sidecars:
  - name: proxy
    description: The mesh proxy.
    native: auto
    containers:
      - name: proxy
        image: "envoy:{{ .Values.version }}"
        args: ["--admin", ":15000"]
        resources:
          requests: {cpu: "{{ .Values.cpu }}", memory: 64Mi}
    env:
      - {name: HTTP_PROXY, value: "http://127.0.0.1:15001"}
    values: {version: v1.31.0, cpu: 100m}
    overridable: {version: "", cpu: ""}
  - name: logs
    native: never
    containers:
      - name: logs
        image: shipper:1.0
    volumes:
      - {name: app-logs, emptyDir: {}}
`

var (
	deployment = Owner{Ref: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}}
	bare       = Owner{Ref: Ref{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "web-abcde"}}
	job        = Owner{Ref: Ref{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "once"}}
	cronJob    = Owner{Ref: Ref{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "nightly-123"}, CronJob: true}
	paused     = Owner{Ref: deployment.Ref, Paused: true, PausedBy: "namespace shop"}
	onDelete   = Owner{Ref: Ref{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"}, OnDelete: true}
	rollouts   = Owner{Ref: Ref{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "web"}}
	modern     = Cluster{NativeSidecars: true, NativeSidecarImages: true, Resize: true}
	shop       = inject.Namespace{Name: "shop", LabelsKnown: true}
)

func load(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// admitted is the pod a ReplicaSet creates, asking for sidecars, as the webhook with cfg
// admits it, then named by the API server. annotations are the template's.
func admitted(t *testing.T, cfg *config.Config, cl Cluster, annotations map[string]string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{}
	pod.GenerateName, pod.Namespace, pod.Annotations = "web-7d9f-", "shop", annotations
	pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "app:1",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}
	raw, _ := json.Marshal(pod)
	if annotations != nil {
		res, err := inject.Inject(raw, shop, cfg, inject.Options{NativeSidecars: cl.NativeSidecars})
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = inject.Apply(raw, res.Patch); err != nil {
			t.Fatal(err)
		}
	}
	out := &corev1.Pod{}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	out.Name, out.UID = "web-7d9f-x2b4q", "uid-1"
	// The API server defaults requests from limits.
	for _, list := range [][]corev1.Container{out.Spec.InitContainers, out.Spec.Containers} {
		for i := range list {
			list[i].Resources = requestsDefaulted(list[i].Resources)
		}
	}
	return out
}

func asks(names string) map[string]string { return map[string]string{inject.InjectKey: names} }

// The planner on tables of (pod injected with one definition, the next definition).
func TestPlanPod(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(planConfig, old) {
			t.Fatalf("%q is not in the config", old)
		}
		return strings.Replace(planConfig, old, new, 1)
	}
	// guaranteed: every container limits what it requests, so the pod is Guaranteed.
	guaranteed := strings.NewReplacer(`memory: 64Mi}`, "memory: 64Mi}\n          limits: {cpu: \"{{ .Values.cpu }}\", memory: 64Mi}",
		"image: shipper:1.0", "image: shipper:1.0\n        resources: {limits: {cpu: 10m, memory: 8Mi}}").Replace(planConfig)
	tests := []struct {
		name        string
		base        string
		pod         string // "override": the pod overrides the version knob; "legacy": its status predates part records; "down": admitted while Tandem was down
		next        string
		owner       Owner
		cluster     Cluster
		action      Action
		changes     []string
		reasonHas   string
		statusWrite bool
	}{
		{name: "nothing changed", next: planConfig, action: ActionNone},
		{name: "a description edit changes nothing", next: edit("The mesh proxy.", "The proxy."), action: ActionNone},
		{name: "failurePolicy and hostNetwork edits change nothing", next: edit("    native: auto", "    native: auto\n    failurePolicy: ignore\n    hostNetwork: inject"), action: ActionNone},
		{name: "the image, through its knob: in place", next: edit("version: v1.31.0", "version: v1.32.1"),
			action: ActionInPlace, changes: []string{"proxy: image envoy:v1.31.0 → envoy:v1.32.1"}, statusWrite: true},
		{name: "the image's knob, on a pod that overrides it: only the record",
			pod:  "override",
			next: edit("version: v1.31.0", "version: v1.32.1"), action: ActionInPlace,
			changes: []string{"proxy: definition changed, renders the same for this pod (the status annotation is updated)"}, statusWrite: true},
		{name: "a cpu request: resized in place", next: edit("cpu: 100m", "cpu: 200m"), action: ActionInPlace,
			changes: []string{"proxy: resources requests cpu=100m memory=64Mi → requests cpu=200m memory=64Mi"}, statusWrite: true},
		{name: "the image of a native sidecar where the kubelet keeps the old one", next: edit("version: v1.31.0", "version: v1.32.1"),
			cluster: Cluster{NativeSidecars: true, Resize: true}, action: ActionRestart, reasonHas: "the kubelet before Kubernetes 1.32 does not restart a native sidecar"},
		{name: "the image of a classic sidecar there: in place", next: edit("version: v1.31.0", "version: v1.32.1"),
			cluster: Cluster{Resize: true}, action: ActionInPlace, changes: []string{"proxy: image envoy:v1.31.0 → envoy:v1.32.1"}, statusWrite: true},
		{name: "a cpu request where the cluster cannot resize", next: edit("cpu: 100m", "cpu: 200m"), cluster: Cluster{NativeSidecars: true},
			action: ActionRestart, reasonHas: "no pods/resize"},
		{name: "a limit that changes the QoS class", base: guaranteed,
			next:   strings.Replace(guaranteed, `limits: {cpu: "{{ .Values.cpu }}"`, `limits: {cpu: 300m`, 1),
			action: ActionRestart, reasonHas: "QoS"},
		{name: "a resize that keeps a Guaranteed pod Guaranteed", base: guaranteed, next: strings.Replace(guaranteed, "cpu: 100m", "cpu: 200m", 1),
			action: ActionInPlace, statusWrite: true,
			changes: []string{"proxy: resources requests cpu=100m memory=64Mi, limits cpu=100m memory=64Mi → requests cpu=200m memory=64Mi, limits cpu=200m memory=64Mi"}},
		{name: "an env value: restart", next: edit("127.0.0.1:15001", "127.0.0.1:15002"), action: ActionRestart,
			changes: []string{"proxy: env HTTP_PROXY changed"}},
		{name: "args: restart", next: edit(`":15000"]`, `":15001"]`), action: ActionRestart, changes: []string{"proxy: container proxy changed"}},
		{name: "an env value on a bare pod: manual", next: edit("127.0.0.1:15001", "127.0.0.1:15002"), owner: bare, action: ActionManual, reasonHas: "nothing controls"},
		{name: "an image on a bare pod: manual, though it could go in place", next: edit("version: v1.31.0", "version: v1.32.1"), owner: bare, action: ActionManual, reasonHas: "leaves it alone"},
		{name: "an image on a Job's pod: manual", next: edit("version: v1.31.0", "version: v1.32.1"), owner: job, action: ActionManual, reasonHas: "leaves running jobs alone"},
		{name: "a Job's pod: manual", next: edit("127.0.0.1:15001", "x"), owner: job, action: ActionManual, reasonHas: "the next Job"},
		{name: "a CronJob's pod: manual", next: edit("127.0.0.1:15001", "x"), owner: cronJob, action: ActionManual, reasonHas: "next run"},
		{name: "OnDelete: manual", next: edit("127.0.0.1:15001", "x"), owner: onDelete, action: ActionManual, reasonHas: "OnDelete"},
		{name: "an owner kind Tandem does not know: manual", next: edit("127.0.0.1:15001", "x"), owner: rollouts, action: ActionManual, reasonHas: "Rollout"},
		{name: "paused", next: edit("version: v1.31.0", "version: v1.32.1"), owner: paused, action: ActionPaused, reasonHas: "namespace shop"},
		{name: "native becomes classic: restart", next: edit("native: auto", "native: never"), action: ActionRestart,
			changes: []string{"proxy: container proxy native sidecar → container"}},
		{name: "admitted while Tandem was down", pod: "down", next: planConfig, action: ActionRestart,
			changes: []string{"proxy: sidecar missing → injected", "logs: sidecar missing → injected"}},
		{name: "a sidecar gone from the config that pods still ask for", next: strings.Split(planConfig, "  - name: logs")[0],
			action: ActionManual, reasonHas: `asks for sidecar "logs", which is not defined`},
		{name: "pods injected before per-part records, unchanged since", pod: "legacy", next: planConfig,
			action: ActionNone},
		{name: "pods injected before per-part records, changed since", pod: "legacy", next: edit("version: v1.31.0", "version: v1.32.1"),
			action: ActionRestart, reasonHas: "restart to be sure"},
		{name: "a template reading the pod's name, which admission did not know yet",
			base:   strings.Replace(planConfig, `"envoy:{{ .Values.version }}"`, `"envoy:{{ .Values.version }}{{ .Pod.Name }}"`, 1),
			next:   strings.Replace(planConfig, `"envoy:{{ .Values.version }}"`, `"envoy:{{ .Values.version }}{{ .Pod.Name }}"`, 1),
			action: ActionNone},
		{name: "the log shipper's image: a classic container in place", next: edit("shipper:1.0", "shipper:1.1"), action: ActionInPlace,
			changes: []string{"logs: image shipper:1.0 → shipper:1.1"}, statusWrite: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.base == "" {
				tc.base = planConfig
			}
			old, next := load(t, tc.base), load(t, tc.next)
			cl := tc.cluster
			if cl == (Cluster{}) {
				cl = modern
			}
			owner := tc.owner
			if owner.Ref == (Ref{}) {
				owner = deployment
			}
			pod := admitted(t, old, cl, asks("proxy,logs"))
			switch tc.pod {
			case "override":
				pod = admitted(t, old, cl, map[string]string{inject.InjectKey: "proxy,logs", "tandem.io/proxy.version": "v1.31.0"})
			case "legacy":
				st := inject.Status{}
				for _, n := range []string{"proxy", "logs"} {
					st.Sidecars = append(st.Sidecars, inject.StatusSidecar{Name: n, Hash: old.Sidecar(n).LegacyHash})
				}
				pod.Annotations[inject.StatusKey] = st.Format()
			case "down":
				pod = admitted(t, old, cl, nil)
				pod.Annotations = asks("proxy,logs")
			}
			got := PlanPod(pod, shop, owner, next, cl)
			if got.Action != tc.action {
				t.Fatalf("action %s (%s), want %s; changes %v", got.Action, got.Reason, tc.action, got.Changes)
			}
			if tc.changes != nil {
				var lines []string
				for _, c := range got.Changes {
					lines = append(lines, c.String())
				}
				if strings.Join(lines, "\n") != strings.Join(tc.changes, "\n") {
					t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tc.changes, "\n"))
				}
			}
			if !strings.Contains(got.Reason, tc.reasonHas) {
				t.Errorf("reason %q does not say %q", got.Reason, tc.reasonHas)
			}
			if (got.Status != "") != tc.statusWrite {
				t.Errorf("status to write %q, want one: %v", got.Status, tc.statusWrite)
			}
			if got.Status != "" {
				done := applied(pod, got)
				if again := PlanPod(done, shop, owner, next, cl); again.Action != ActionNone {
					t.Errorf("after the in-place changes the pod still plans %s: %v", again.Action, again.Changes)
				}
			}
		})
	}
}

// applied is pod after a rollout has made plan's in-place changes.
func applied(pod *corev1.Pod, plan PodPlan) *corev1.Pod {
	pod = pod.DeepCopy()
	for _, c := range plan.Changes {
		list := pod.Spec.Containers
		if c.Init {
			list = pod.Spec.InitContainers
		}
		for i := range list {
			if list[i].Name != c.Container {
				continue
			}
			if c.Image != "" {
				list[i].Image = c.Image
			}
			if c.Resources != nil {
				list[i].Resources = *c.Resources
			}
		}
	}
	pod.Annotations[inject.StatusKey] = plan.Status
	return pod
}
