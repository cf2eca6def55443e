package rollout

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/capabilities"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// PauseKey is the annotation that, set to PauseValue on a namespace or an owner, keeps
// the rollout away from its pods.
const (
	PauseKey   = config.KeyPrefix + "rollout"
	PauseValue = "paused"
)

// planPod is PlanPod; tests of the cluster side give their own plans.
var planPod = PlanPod

// pageSize bounds each list response, as the audit's does.
const pageSize = 500

// Selection says which pods a rollout looks at, and which of their changes it makes.
type Selection struct {
	// Namespace is the one namespace to look in; "" for every namespace.
	Namespace string
	// Labels is a label selector of pods.
	Labels string
	// Sidecar keeps only the changes of this sidecar: a pod with none left is current.
	Sidecar string
	// Owner keeps only the pods of this owner, "KIND/NAME" (the kind in any case).
	Owner string
}

// ParseOwner checks --owner's KIND/NAME.
func ParseOwner(s string) error {
	kind, name, ok := strings.Cut(s, "/")
	if s != "" && (!ok || kind == "" || name == "") {
		return fmt.Errorf("--owner must be KIND/NAME (deployment/web), not %q", s)
	}
	return nil
}

func (s Selection) ownerMatches(ref Ref) bool {
	if s.Owner == "" {
		return true
	}
	kind, name, _ := strings.Cut(s.Owner, "/")
	return strings.EqualFold(kind, ref.Kind) && name == ref.Name
}

// Gather reads the selected pods, their namespaces and owners and the cluster's
// features, and plans each pod with PlanPod against cfg.
func Gather(ctx context.Context, client kubernetes.Interface, cfg *config.Config, sel Selection) (*Plan, error) {
	cl, err := DetectCluster(ctx, client.Discovery())
	if err != nil {
		return nil, err
	}
	namespaces, err := readNamespaces(ctx, client, sel.Namespace)
	if err != nil {
		return nil, err
	}
	p := NewPlanner(client, cfg, cl, sel)
	err = listPods(ctx, client, sel, func(pod *corev1.Pod) error {
		ns, ok := namespaces[pod.Namespace]
		if !ok { // created after the namespaces were listed
			ns = namespace{Namespace: inject.Namespace{Name: pod.Namespace}}
		}
		return p.Add(ctx, pod, ns.Namespace, ns.paused)
	})
	if err != nil {
		return nil, err
	}
	return p.Plan(), nil
}

// Planner plans pods one at a time against one configuration, reading each owner once:
// Gather gives it every pod it lists, and the rollout controller the pods its informer
// finds outdated.
type Planner struct {
	owners  *owners
	cfg     *config.Config
	sel     Selection
	plan    *Plan
	byOwner map[Ref]*OwnerPlan
}

// NewPlanner returns a Planner of the pods sel selects, on a cluster with cl's features.
func NewPlanner(client kubernetes.Interface, cfg *config.Config, cl Cluster, sel Selection) *Planner {
	return &Planner{owners: newOwners(client), cfg: cfg, sel: sel,
		plan: &Plan{Cluster: cl, Counts: map[Action]int{}}, byOwner: map[Ref]*OwnerPlan{}}
}

// Add plans pod, in namespace ns (nsPaused when it carries the rollout's pause), unless
// it is being deleted or its owner is not the one selected.
func (p *Planner) Add(ctx context.Context, pod *corev1.Pod, ns inject.Namespace, nsPaused bool) error {
	if pod.DeletionTimestamp != nil {
		return nil // on its way out
	}
	owner, err := p.owners.of(ctx, pod)
	if err != nil {
		return err
	}
	if !p.sel.ownerMatches(owner.Ref) {
		return nil
	}
	if nsPaused && !owner.Paused {
		owner.Paused, owner.PausedBy = true, "namespace "+pod.Namespace
	}
	p.plan.add(p.sel.only(pod, planPod(pod, ns, owner, p.cfg, p.plan.Cluster)), p.byOwner)
	p.byOwner[owner.Ref].Replicas = owner.Replicas
	return nil
}

// Plan returns the plan of the pods added, grouped by owner.
func (p *Planner) Plan() *Plan {
	p.plan.group(p.byOwner)
	return p.plan
}

// DetectCluster asks the API server whether it runs native sidecars, changes their
// images in place and has the pods/resize subresource.
func DetectCluster(ctx context.Context, d discovery.DiscoveryInterface) (Cluster, error) {
	found, err := capabilities.Detect(ctx, d)
	if err != nil {
		return Cluster{}, err
	}
	return Cluster{NativeSidecars: found.NativeSidecars, NativeSidecarImages: found.NativeSidecarImages, Resize: found.Resize}, nil
}

// namespace is what the rollout reads of a namespace.
type namespace struct {
	inject.Namespace
	paused bool
}

// readNamespaces reads the labels and pause of name, or of every namespace when "".
func readNamespaces(ctx context.Context, client kubernetes.Interface, name string) (map[string]namespace, error) {
	namespaces := map[string]namespace{}
	add := func(n *corev1.Namespace) {
		namespaces[n.Name] = namespace{
			Namespace: inject.Namespace{Name: n.Name, Labels: n.Labels, LabelsKnown: true},
			paused:    n.Annotations[PauseKey] == PauseValue,
		}
	}
	if name != "" {
		n, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading namespace %s: %w", name, err)
		}
		add(n)
		return namespaces, nil
	}
	err := list(ctx, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Namespaces().List(ctx, opts)
	}, metav1.ListOptions{}, func(obj runtime.Object) error {
		n, ok := obj.(*corev1.Namespace)
		if !ok {
			return fmt.Errorf("listing namespaces gave a %T", obj)
		}
		add(n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	return namespaces, nil
}

// listPods calls each for every unfinished pod selected.
func listPods(ctx context.Context, client kubernetes.Interface, sel Selection, each func(*corev1.Pod) error) error {
	opts := metav1.ListOptions{FieldSelector: audit.UnfinishedPods, LabelSelector: sel.Labels}
	err := list(ctx, func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Pods(sel.Namespace).List(ctx, opts)
	}, opts, func(obj runtime.Object) error {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return fmt.Errorf("listing pods gave a %T", obj)
		}
		return each(pod)
	})
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	return nil
}

// list calls each for every object, listing in pages of pageSize through client-go's
// pager, which lists again in one request when a continue token expires.
func list(ctx context.Context, fn pager.ListPageFunc, opts metav1.ListOptions, each func(runtime.Object) error) error {
	p := pager.New(fn)
	p.PageSize = pageSize
	all, _, err := p.List(ctx, opts)
	if err != nil {
		return err
	}
	return meta.EachListItem(all, each)
}

// only keeps the changes of sel.Sidecar in pp: with none left, the pod is current as far
// as this rollout goes. An in-place pod keeps the other sidecars' records in its status
// annotation as they were, so that they are not seen as current.
func (s Selection) only(pod *corev1.Pod, pp PodPlan) PodPlan {
	if s.Sidecar == "" || pp.Action == ActionNone {
		return pp
	}
	var kept []Change
	for _, c := range pp.Changes {
		if c.Sidecar == s.Sidecar {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		pp.Action, pp.Reason, pp.Changes, pp.Status = ActionNone, "", nil, ""
		return pp
	}
	if len(kept) < len(pp.Changes) && pp.Action == ActionInPlace {
		pp.Status = mergeStatus(pod.Annotations[inject.StatusKey], pp.Status, s.Sidecar)
	}
	pp.Changes = kept
	return pp
}
