package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/tandem-io/tandem/examples"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

func TestCount(t *testing.T) {
	cfg := testConfig(t)
	namespaces := map[string]inject.Namespace{
		"shop": {Name: "shop", LabelsKnown: true},
		"mesh": {Name: "mesh", Labels: map[string]string{"tandem.io/inject": "proxy"}, LabelsKnown: true},
	}
	lookup := func(name string) inject.Namespace {
		if ns, ok := namespaces[name]; ok {
			return ns
		}
		return inject.Namespace{Name: name}
	}
	now := metav1.Now()
	deleting := podObject("shop", "leaving", nil, asks("proxy"))
	deleting.DeletionTimestamp = &now
	tests := map[string]struct {
		pods                          []any
		missing, outdated             map[series]int
		pods_, podsMissing, podsStale int
	}{
		"no pods": {missing: map[series]int{}, outdated: map[series]int{}},
		"missing and outdated, per namespace and sidecar": {
			pods: []any{
				podObject("shop", "a", nil, asks("proxy,logs")),
				podObject("shop", "b", nil, asks("proxy")),
				podObject("shop", "c", nil, with(asks("seed,proxy"), "tandem.io/status", staleStatus("seed"))),
				podObject("shop", "d", nil, with(asks("proxy"), "tandem.io/status", statusOf(t, cfg, "proxy"))),
				podObject("mesh", "e", nil, nil), // the namespace's default
				podObject("elsewhere", "f", nil, nil),
				deleting,
			},
			missing: map[series]int{
				{"shop", "proxy"}: 3, {"shop", "logs"}: 1, {"mesh", "proxy"}: 1,
			},
			outdated: map[series]int{{"shop", "seed"}: 1},
			pods_:    6, podsMissing: 4, podsStale: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := count(tc.pods, lookup, cfg)
			if diff := cmp.Diff(tc.missing, c.missing, cmp.AllowUnexported(series{})); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.outdated, c.outdated, cmp.AllowUnexported(series{})); diff != "" {
				t.Errorf("outdated (-want +got):\n%s", diff)
			}
			if c.pods != tc.pods_ || c.podsMissing != tc.podsMissing || c.podsOutdated != tc.podsStale {
				t.Errorf("totals: %d pods, %d missing, %d outdated; want %d, %d, %d", c.pods, c.podsMissing, c.podsOutdated, tc.pods_, tc.podsMissing, tc.podsStale)
			}
		})
	}
}

// The informer keeps only what auditing reads, and auditing the stripped pod gives what
// auditing the whole one does.
func TestKeepAuditFieldsKeepsWhatTheAuditReads(t *testing.T) {
	cfg := testConfig(t)
	noise := map[string]string{"app": "web", "pod-template-hash": "7d9f", "kubectl.kubernetes.io/restartedAt": "2024-05-14T09:21:44Z"}
	now := metav1.Now()
	pods := map[string]*metav1.PartialObjectMetadata{
		"asks, not injected":   podObject("shop", "a", controller("apps/v1", "ReplicaSet", "web-7d9f"), with(noise, "tandem.io/inject", "proxy")),
		"injected":             podObject("shop", "b", nil, with(noise, "tandem.io/inject", "proxy,logs", "tandem.io/status", statusOf(t, cfg, "proxy", "logs"))),
		"stale, with a knob":   podObject("shop", "c", nil, with(noise, "tandem.io/inject", "proxy", "tandem.io/proxy.cpu", "250m", "tandem.io/status", staleStatus("proxy"))),
		"opted out":            object("v1", "Pod", "shop", "d", nil, with(noise, "tandem.io/inject", "false"), asks("seed")),
		"nothing of Tandem's":  object("v1", "Pod", "shop", "e", nil, noise, noise),
		"the namespace's pick": podObject("mesh", "f", nil, nil),
	}
	pods["being deleted"] = podObject("shop", "g", nil, asks("seed"))
	pods["being deleted"].DeletionTimestamp = &now
	ns := inject.Namespace{Name: "mesh", Labels: map[string]string{"tandem.io/inject": "seed"}, LabelsKnown: true}
	for name, pod := range pods {
		t.Run(name, func(t *testing.T) {
			pod.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}}
			pod.UID = "some-uid"
			obj, err := keepAuditFields(pod)
			if err != nil {
				t.Fatal(err)
			}
			kept := obj.(*metav1.PartialObjectMetadata)
			if kept.Name != pod.Name || kept.Namespace != pod.Namespace || kept.UID != pod.UID || !kept.DeletionTimestamp.Equal(pod.DeletionTimestamp) {
				t.Errorf("identity lost: %+v", kept.ObjectMeta)
			}
			if kept.OwnerReferences != nil || kept.ManagedFields != nil {
				t.Errorf("kept more than the audit reads: %+v", kept.ObjectMeta)
			}
			for _, m := range []map[string]string{kept.Labels, kept.Annotations} {
				for k := range m {
					if !strings.HasPrefix(k, "tandem.io/") {
						t.Errorf("kept %s", k)
					}
				}
			}
			full := inject.AuditPod(pod.Labels, pod.Annotations, ns, cfg)
			stripped := inject.AuditPod(kept.Labels, kept.Annotations, ns, cfg)
			if diff := cmp.Diff(full, stripped); diff != "" {
				t.Errorf("the stripped pod audits differently (-whole +stripped):\n%s", diff)
			}
		})
	}
}

// fastElection keeps tests short: a Lease let go is taken over within a second or so.
var fastElection = election{leaseDuration: 5 * time.Second, renewDeadline: 3 * time.Second, retryPeriod: 100 * time.Millisecond}

type monitorRig struct {
	*Monitor
	registry *prometheus.Registry
	log      *syncBuffer
	cancel   context.CancelFunc
	done     chan struct{}
}

// startMonitor runs a Monitor on client's pods, holding the Lease shop/tandem-audit
// through leases, until the test ends or stop.
func startMonitor(t *testing.T, identity string, client *metadatafake.FakeMetadataClient, leases coordinationv1client.LeasesGetter, cfg func() (*config.Config, error)) *monitorRig {
	t.Helper()
	log := &syncBuffer{}
	m, err := NewMonitor(MonitorOptions{
		Metadata: client, Leases: leases, LeaseNamespace: "shop", LeaseName: "tandem-audit",
		Identity: identity, Interval: 50 * time.Millisecond, Config: cfg,
		Log: slog.New(slog.NewJSONHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	m.election = fastElection
	// A pedantic registry checks that what Collect sends matches what Describe says.
	registry := prometheus.NewPedanticRegistry()
	registry.MustRegister(m)
	ctx, cancel := context.WithCancel(context.Background())
	rig := &monitorRig{Monitor: m, registry: registry, log: log, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rig.done)
		m.Run(ctx)
	}()
	t.Cleanup(rig.stop)
	return rig
}

// stop ends Run and waits for it: the Lease is let go by then.
func (r *monitorRig) stop() {
	r.cancel()
	<-r.done
}

// samples gathers the audit's series as name{namespace,sidecar} → value.
func (r *monitorRig) samples(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := r.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[fmt.Sprintf("%s{%s,%s}", f.GetName(), labels["namespace"], labels["sidecar"])] = m.GetGauge().GetValue()
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fixed(cfg *config.Config) func() (*config.Config, error) {
	return func() (*config.Config, error) { return cfg, nil }
}

// shopPods: two pods of shop lack proxy, one carries an outdated seed.
func shopPods(t *testing.T) *metadatafake.FakeMetadataClient {
	return fakeClient(t,
		namespaceObject("shop", nil),
		podObject("shop", "a", nil, asks("proxy")),
		podObject("shop", "b", nil, asks("proxy")),
		podObject("shop", "c", nil, with(asks("seed"), "tandem.io/status", staleStatus("seed"))),
	)
}

var shopSamples = map[string]float64{
	"tandem_pods_missing_sidecars{shop,proxy}": 2,
	"tandem_pods_outdated_sidecars{shop,seed}": 1,
}

// Of two replicas, the one holding the Lease exports the counts and the other nothing;
// when the leader stops, the other takes over.
func TestMonitorExportsOnlyWhileLeading(t *testing.T) {
	cfg := testConfig(t)
	client := shopPods(t)
	leases := fake.NewClientset().CoordinationV1()
	first := startMonitor(t, "first", client, leases, fixed(cfg))
	eventually(t, "the first replica exports the counts", func() bool { return maps.Equal(first.samples(t), shopSamples) })

	tries := make(chan struct{}, 100)
	second := startMonitor(t, "second", client, observedLeases{leases, tries}, fixed(cfg))
	// Two reads of the Lease: the second comes a retry period after the first, while
	// the first replica renews it.
	<-tries
	<-tries
	if got := second.samples(t); len(got) != 0 {
		t.Errorf("the replica that does not lead exports %v", got)
	}
	if lease := holder(t, leases); lease != "first" {
		t.Fatalf("the Lease is held by %q, want first", lease)
	}

	first.stop()
	if got := first.samples(t); len(got) != 0 {
		t.Errorf("a stopped replica still exports %v", got)
	}
	eventually(t, "the second replica takes over", func() bool { return maps.Equal(second.samples(t), shopSamples) })
	if lease := holder(t, leases); lease != "second" {
		t.Errorf("the Lease is held by %q, want second", lease)
	}
}

// Each computation replaces the series whole: those of a pod gone since disappear, and
// each computation logs its totals.
func TestMonitorDropsSeriesOfPodsGone(t *testing.T) {
	client := shopPods(t)
	m := startMonitor(t, "only", client, fake.NewClientset().CoordinationV1(), fixed(testConfig(t)))
	eventually(t, "the counts are exported", func() bool { return maps.Equal(m.samples(t), shopSamples) })
	if err := client.Tracker().Delete(podsResource, "shop", "c"); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"tandem_pods_missing_sidecars{shop,proxy}": 2}
	eventually(t, "the outdated series is gone", func() bool { return maps.Equal(m.samples(t), want) })

	var line struct {
		Msg                                                 string
		Pods, PodsMissingSidecars, PodsWithOutdatedSidecars int
	}
	found := false
	for l := range strings.Lines(m.log.String()) {
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "pods audited" && line.Pods == 3 {
			found = line.PodsMissingSidecars == 2 && line.PodsWithOutdatedSidecars == 1
			break
		}
	}
	if !found {
		t.Errorf("no log line with the totals of three pods (2 missing, 1 outdated):\n%s", m.log.String())
	}
}

// The configuration is read at each computation: a changed definition turns the pods
// that carry it outdated; a configuration that fails to load keeps the last good one.
func TestMonitorFollowsTheConfiguration(t *testing.T) {
	before := testConfig(t)
	changed, err := config.Parse(bytes.Replace(examples.Config, []byte("foo: bar"), []byte("foo: baz"), 1), "changed")
	if err != nil {
		t.Fatal(err)
	}
	if changed.Sidecar("seed").Hash == before.Sidecar("seed").Hash {
		t.Fatal("the changed configuration did not change seed")
	}
	client := fakeClient(t,
		namespaceObject("shop", nil),
		podObject("shop", "a", nil, with(asks("seed"), "tandem.io/status", statusOf(t, before, "seed"))),
	)
	var current atomic.Pointer[config.Config]
	var broken atomic.Bool
	current.Store(before)
	load := func() (*config.Config, error) {
		if broken.Load() {
			return nil, errors.New("line 3: bogus")
		}
		return current.Load(), nil
	}
	m := startMonitor(t, "only", client, fake.NewClientset().CoordinationV1(), load)
	eventually(t, "a computation ran", func() bool { return strings.Contains(m.log.String(), `"pods audited"`) })
	if got := m.samples(t); len(got) != 0 {
		t.Errorf("a pod with the current definition is counted: %v", got)
	}
	current.Store(changed)
	stale := map[string]float64{"tandem_pods_outdated_sidecars{shop,seed}": 1}
	eventually(t, "the pod counts as outdated", func() bool { return maps.Equal(m.samples(t), stale) })

	broken.Store(true)
	eventually(t, "the broken configuration is reported", func() bool {
		return strings.Contains(m.log.String(), "configuration rejected; auditing against the last good one")
	})
	if got := m.samples(t); !maps.Equal(got, stale) {
		t.Errorf("with the configuration broken, the counts are %v, want those of the last good one %v", got, stale)
	}
}

func TestNewMonitorRequiresEverything(t *testing.T) {
	good := MonitorOptions{
		Metadata: fakeClient(t), Leases: fake.NewClientset().CoordinationV1(), LeaseNamespace: "ns", LeaseName: "l",
		Identity: "me", Interval: time.Minute, Config: fixed(testConfig(t)), Log: slog.New(slog.DiscardHandler),
	}
	if _, err := NewMonitor(good); err != nil {
		t.Fatalf("complete options refused: %v", err)
	}
	for name, mod := range map[string]func(*MonitorOptions){
		"no interval":   func(o *MonitorOptions) { o.Interval = 0 },
		"no lease name": func(o *MonitorOptions) { o.LeaseName = "" },
		"no identity":   func(o *MonitorOptions) { o.Identity = "" },
		"no config":     func(o *MonitorOptions) { o.Config = nil },
	} {
		t.Run(name, func(t *testing.T) {
			o := good
			mod(&o)
			if _, err := NewMonitor(o); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func holder(t *testing.T, leases coordinationv1client.LeasesGetter) string {
	t.Helper()
	l, err := leases.Leases("shop").Get(context.Background(), "tandem-audit", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// observedLeases tells, on tries, each time the Lease is read.
type observedLeases struct {
	coordinationv1client.LeasesGetter
	tries chan<- struct{}
}

func (o observedLeases) Leases(namespace string) coordinationv1client.LeaseInterface {
	return observedLease{o.LeasesGetter.Leases(namespace), o.tries}
}

type observedLease struct {
	coordinationv1client.LeaseInterface
	tries chan<- struct{}
}

func (o observedLease) Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error) {
	l, err := o.LeaseInterface.Get(ctx, name, opts)
	select {
	case o.tries <- struct{}{}:
	default:
	}
	return l, err
}

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An election client-go refuses is an error from Run, not a panic that would take the
// webhook down with it: the audit runs in the server's process, beside admission.
func TestMonitorRunReturnsAnErrorForAnElectionThatCannotRun(t *testing.T) {
	m, err := NewMonitor(MonitorOptions{
		Metadata: fakeClient(t), Leases: fake.NewClientset().CoordinationV1(), LeaseNamespace: "ns", LeaseName: "l",
		Identity: "me", Interval: time.Minute, Config: fixed(testConfig(t)), Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A Lease that expires before its holder must renew it.
	m.election = election{leaseDuration: time.Second, renewDeadline: 2 * time.Second, retryPeriod: 100 * time.Millisecond}
	err = m.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "the Lease ns/l") {
		t.Fatalf("Run with an impossible election: %v; want an error naming the Lease", err)
	}
}

// A task runs while its replica leads, on the informers' view; when the replica is
// stopped in the middle of a task's step, the Lease stays held until the task returns,
// so that no other replica starts work meanwhile; then it is let go.
func TestMonitorHoldsTheLeaseUntilTasksReturn(t *testing.T) {
	cfg := testConfig(t)
	leases := fake.NewClientset().CoordinationV1()
	seen := make(chan int, 1)
	stepping, finish := make(chan struct{}), make(chan struct{})
	task := func(ctx context.Context, view View) {
		eventually(t, "the view holds the pods", func() bool { return len(view.Pods()) == 3 })
		seen <- len(view.Pods())
		<-ctx.Done()
		close(stepping)
		<-finish // a step under way when the term ends
	}
	m, err := NewMonitor(MonitorOptions{
		Metadata: shopPods(t), Leases: leases, LeaseNamespace: "shop", LeaseName: "tandem-audit",
		Identity: "first", Config: fixed(cfg), Tasks: []Task{task},
		Log: slog.New(slog.NewJSONHandler(&syncBuffer{}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	m.election = fastElection
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(ctx)
	}()
	if n := <-seen; n != 3 {
		t.Fatalf("the task saw %d pods, want 3", n)
	}
	cancel()
	<-stepping
	if h := holder(t, leases); h != "first" {
		t.Errorf("while the task finishes its step the Lease is held by %q, want first", h)
	}
	close(finish)
	<-done
	if h := holder(t, leases); h != "" {
		t.Errorf("after the task returned the Lease is still held by %q", h)
	}
}
