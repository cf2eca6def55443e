package autorollout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/rollout"
)

// testConfig is a native proxy of image proxy:TAG, with env MARK=mark.
func testConfig(t testing.TB, tag, mark string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
sidecars:
  - name: proxy
    native: auto
    containers:
      - name: proxy
        image: proxy:%s
    env:
      - {name: MARK, value: %q}
`, tag, mark)), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var modern = rollout.Cluster{NativeSidecars: true, NativeSidecarImages: true, Resize: true}

// cluster is a fake cluster, the controller's view of its pods and namespaces, and the
// steps the controller took.
type cluster struct {
	t     testing.TB
	cs    *fake.Clientset
	mu    sync.Mutex
	steps []taken
	// fail lists the pods whose step fails (rolled back).
	fail map[string]bool
	rv   int
}

// taken is one call of apply: the owner, its pods, and whether it restarted.
type taken struct {
	owner   string
	pods    []string
	restart bool
}

func newCluster(t testing.TB, objects ...runtime.Object) *cluster {
	c := &cluster{t: t, cs: fake.NewClientset(objects...), fail: map[string]bool{}}
	prev := apply
	apply = c.apply
	t.Cleanup(func() { apply = prev })
	return c
}

// webAt is a cluster with Deployment shop/web of n pods admitted with proxy:tag.
func webAt(t testing.TB, tag string, n int) *cluster {
	t.Helper()
	cl := newCluster(t)
	cl.deployment("shop", "web", n, testConfig(t, tag, "a"))
	return cl
}

// deployment adds Deployment name in ns with n pods web-0…, admitted by cfg.
func (c *cluster) deployment(ns, name string, n int, cfg *config.Config) {
	c.t.Helper()
	c.add(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name)},
		Spec:   appsv1.DeploymentSpec{Replicas: new(int32(n))},
		Status: appsv1.DeploymentStatus{Replicas: int32(n), UpdatedReplicas: int32(n), AvailableReplicas: int32(n)}})
	rs := name + "-1"
	c.add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: rs, OwnerReferences: controlledBy("apps/v1", "Deployment", name)}})
	for i := range n {
		c.add(c.admitted(ns, fmt.Sprintf("%s-%d", name, i), controlledBy("apps/v1", "ReplicaSet", rs), cfg))
	}
}

func (c *cluster) add(obj runtime.Object) {
	c.t.Helper()
	if err := c.cs.Tracker().Add(obj); err != nil {
		c.t.Fatal(err)
	}
}

func controlledBy(apiVersion, kind, name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, Controller: new(true)}}
}

// admitted is a pod asking for the proxy as the webhook with cfg admits it; nil cfg:
// admitted while Tandem was down.
func (c *cluster) admitted(ns, name string, owner []metav1.OwnerReference, cfg *config.Config) *corev1.Pod {
	c.t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name),
		Annotations: map[string]string{inject.InjectKey: "proxy"}, OwnerReferences: owner}}
	pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "app:1"}}
	if cfg == nil {
		return pod
	}
	raw, _ := json.Marshal(pod)
	res, err := inject.Inject(raw, inject.Namespace{Name: ns, LabelsKnown: true}, cfg, inject.Options{NativeSidecars: true})
	if err != nil {
		c.t.Fatal(err)
	}
	if raw, err = inject.Apply(raw, res.Patch); err != nil {
		c.t.Fatal(err)
	}
	out := &corev1.Pod{}
	if err := json.Unmarshal(raw, out); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// apply plays rollout.Apply: a pod in fail is rolled back; the others are updated in
// place (the pod takes the planned status annotation, as the real patch writes it) or
// restarted (the owner's template is stamped and its rollout shows under way).
func (c *cluster) apply(ctx context.Context, client kubernetes.Interface, plan *rollout.Plan, opts rollout.Options) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := &plan.Owners[0]
	tk := taken{owner: o.Owner.String(), restart: opts.Restart}
	for i := range o.Pods {
		r := &o.Pods[i]
		tk.pods = append(tk.pods, r.Name)
		switch {
		case c.fail[r.Name]:
			r.Outcome, r.Error = rollout.OutcomeRolledBack, "container proxy: ErrImageNeverPull"
		case opts.Restart:
			r.Outcome = rollout.OutcomeRestarted
		default:
			r.Outcome = rollout.OutcomeUpdated
			c.update(r.Namespace, r.Name, func(p *corev1.Pod) { p.Annotations[inject.StatusKey] = r.Status })
		}
	}
	if opts.Restart && o.Owner.Kind == "Deployment" {
		d, err := client.AppsV1().Deployments(o.Owner.Namespace).Get(ctx, o.Owner.Name, metav1.GetOptions{})
		if err != nil {
			c.t.Error(err)
			return err
		}
		d.Generation++ // the controller has not seen the change yet: a rollout under way
		if _, err := client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			c.t.Error(err)
		}
	}
	c.steps = append(c.steps, tk)
	return nil
}

// update changes a pod in the fake cluster, with a new resourceVersion.
func (c *cluster) update(ns, name string, change func(*corev1.Pod)) {
	c.t.Helper()
	p, err := c.cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	change(p)
	c.rv++
	p.ResourceVersion = strconv.Itoa(c.rv)
	if _, err := c.cs.CoreV1().Pods(ns).Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// view is what the leader's informers would hold now.
func (c *cluster) view() audit.View {
	c.t.Helper()
	pods, namespaces := cache.NewStore(cache.MetaNamespaceKeyFunc), cache.NewStore(cache.MetaNamespaceKeyFunc)
	list, err := c.cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, p := range list.Items {
		_ = pods.Add(&metav1.PartialObjectMetadata{ObjectMeta: p.ObjectMeta})
	}
	nss, _ := c.cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	for _, n := range nss.Items {
		_ = namespaces.Add(&metav1.PartialObjectMetadata{ObjectMeta: n.ObjectMeta})
	}
	return audit.NewView(pods, namespaces)
}

// taken returns the steps so far, and forgets them.
func (c *cluster) taken() []taken {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.steps
	c.steps = nil
	return s
}

// controller is a Controller on the fake cluster serving *cfg, with a recorder that
// keeps events; it has begun a term.
type controller struct {
	*Controller
	events *record.FakeRecorder
}

func (c *cluster) controller(cfg **config.Config, edit func(*Options)) *controller {
	c.t.Helper()
	rec := record.NewFakeRecorder(1000)
	opts := Options{
		Client: c.cs, Config: func() (*config.Config, error) { return *cfg, nil },
		Settings: Settings{InPlace: true, MaxUnavailable: intstr.FromInt32(1), Interval: 1}, Timeout: 1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Recorder: rec,
	}
	if edit != nil {
		edit(&opts)
	}
	ctl, err := New(opts)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(ctl.begin(context.Background()))
	return &controller{Controller: ctl, events: rec}
}

// pass runs one pass on the cluster's view now.
func (c *controller) pass(cl *cluster) { c.Controller.pass(context.Background(), cl.view(), modern) }

// drain returns the events recorded so far: "Type Reason message".
func (c *controller) drain() []string {
	var out []string
	for {
		select {
		case e := <-c.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// shown returns the series of tandem_rollout_pods that are not zero: "action/state" → n.
func (c *controller) shown() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	if c.Controller.shown == nil {
		return nil
	}
	for k, n := range c.Controller.shown.pods {
		if n != 0 {
			out[k.action+"/"+k.state] = n
		}
	}
	return out
}

// podsOf names the pods of steps, in order.
func podsOf(steps []taken) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.pods...)
	}
	return out
}

func count(events []string, reason string) int {
	return len(slices.DeleteFunc(slices.Clone(events), func(e string) bool { return !strings.Contains(e, " "+reason+" ") }))
}
