package autorollout

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/rollout"
)

// What the settings let the controller do, for pods whose changes are in place, need a
// restart, or are a missing sidecar.
func TestControllerFollowsItsSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edit     func(*Options)
		change   string // image, env, missing
		restart  bool   // a restart step is taken
		inPlace  bool   // an in-place step is taken
		counted  string // the series counting the pods, "" for none
		restarts int    // SidecarRestart events
	}{
		{name: "image, in place on", change: "image", inPlace: true, counted: "in-place/pending"},
		{name: "image, in place off", edit: func(o *Options) { o.InPlace = false }, change: "image"},
		{name: "env, restart off", change: "env"},
		{name: "env, restart on", edit: func(o *Options) { o.Restart = true }, change: "env", restart: true, counted: "restart/done", restarts: 1},
		{name: "env, only missing on", edit: func(o *Options) { o.Missing = true }, change: "env"},
		{name: "missing, missing off", change: "missing"},
		{name: "missing, restart on but not missing", edit: func(o *Options) { o.Restart = true }, change: "missing"},
		{name: "missing, missing on", edit: func(o *Options) { o.Missing = true }, change: "missing", restart: true, counted: "restart/done", restarts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v1 := testConfig(t, "v1", "a")
			cl := newCluster(t)
			admittedBy, cfg := v1, v1
			switch tc.change {
			case "image":
				cfg = testConfig(t, "v2", "a")
			case "env":
				cfg = testConfig(t, "v1", "b")
			case "missing":
				admittedBy = nil
			}
			cl.deployment("shop", "web", 2, admittedBy)
			ctl := cl.controller(&cfg, tc.edit)
			ctl.pass(cl)
			steps := cl.taken()
			if got := len(steps) == 1 && steps[0].restart; got != tc.restart {
				t.Errorf("restart step taken: %v (%+v), want %v", got, steps, tc.restart)
			}
			if got := len(steps) == 1 && !steps[0].restart; got != tc.inPlace {
				t.Errorf("in-place step taken: %v (%+v), want %v", got, steps, tc.inPlace)
			}
			if tc.restart && len(steps) == 1 && (steps[0].owner != "Deployment/web" || len(steps[0].pods) != 2) {
				t.Errorf("restart step %+v, want Deployment/web with its 2 pods", steps[0])
			}
			got := ctl.shown()
			if tc.counted == "" && len(got) != 0 || tc.counted != "" && got[tc.counted] == 0 {
				t.Errorf("series %v, want %q counted", got, tc.counted)
			}
			if n := count(ctl.drain(), ReasonRestart); n != tc.restarts {
				t.Errorf("%d %s events, want %d", n, ReasonRestart, tc.restarts)
			}
		})
	}
}

// An owner restarted is not restarted again while its own rollout is under way: the
// old pods, still outdated, are on their way out (a new leader sees the same).
func TestControllerWaitsForAnOwnersRollout(t *testing.T) {
	cl := webAt(t, "v1", 2)
	cfg := testConfig(t, "v1", "b")
	ctl := cl.controller(&cfg, func(o *Options) { o.Restart = true })
	ctl.pass(cl)
	if got := cl.taken(); len(got) != 1 || !got[0].restart {
		t.Fatalf("first pass took %+v, want a restart", got)
	}
	ctl.pass(cl)
	next := cl.controller(&cfg, func(o *Options) { o.Restart = true })
	next.pass(cl)
	if got := cl.taken(); len(got) != 0 {
		t.Fatalf("restarted again while the Deployment rolls out: %+v", got)
	}
	d, _ := cl.cs.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	if _, err := cl.cs.AppsV1().Deployments("shop").UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctl.pass(cl)
	if got := cl.taken(); len(got) != 1 {
		t.Errorf("once the Deployment's rollout is done, pods still outdated are restarted again: took %+v", got)
	}
}

// Pauses: the flag and Tandem's own Deployment stop everything; a namespace or an
// owner stops its pods only. Paused pods are counted as such; removing the pause
// resumes at the next pass.
func TestControllerPauses(t *testing.T) {
	paused := map[string]string{rollout.PauseKey: rollout.PauseValue}
	setup := func(t *testing.T, edit func(*Options)) (*cluster, *controller) {
		v1 := testConfig(t, "v1", "a")
		cl := newCluster(t,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "frozen"}})
		cl.deployment("shop", "web", 2, v1)
		cl.deployment("frozen", "web", 2, v1)
		cl.deployment("tandem-system", "tandem", 0, nil)
		cl.add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "tandem-system", Name: "tandem-7d9f-abcde",
			OwnerReferences: controlledBy("apps/v1", "ReplicaSet", "tandem-1")}})
		cfg := testConfig(t, "v2", "a")
		ctl := cl.controller(&cfg, func(o *Options) {
			o.SelfNamespace, o.SelfName = "tandem-system", "tandem-7d9f-abcde"
			if edit != nil {
				edit(o)
			}
		})
		return cl, ctl
	}
	t.Run("flag", func(t *testing.T) {
		cl, ctl := setup(t, func(o *Options) { o.Paused = true })
		ctl.pass(cl)
		if got := cl.taken(); len(got) != 0 {
			t.Errorf("paused by the flag, took %+v", got)
		}
		if got := ctl.shown(); got["in-place/paused"] != 4 {
			t.Errorf("series %v, want 4 paused", got)
		}
	})
	t.Run("Tandem's Deployment", func(t *testing.T) {
		cl, ctl := setup(t, nil)
		annotate(t, cl, "tandem-system", "tandem", paused)
		ctl.pass(cl)
		if got := cl.taken(); len(got) != 0 {
			t.Errorf("paused on Tandem's Deployment, took %+v", got)
		}
		annotate(t, cl, "tandem-system", "tandem", nil)
		ctl.pass(cl)
		if got := cl.taken(); len(got) != 1 {
			t.Errorf("resumed, took %+v; want a step", got)
		}
	})
	t.Run("namespace", func(t *testing.T) {
		cl, ctl := setup(t, nil)
		ns, _ := cl.cs.CoreV1().Namespaces().Get(context.Background(), "frozen", metav1.GetOptions{})
		ns.Annotations = paused
		if _, err := cl.cs.CoreV1().Namespaces().Update(context.Background(), ns, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			ctl.pass(cl)
		}
		for _, s := range cl.taken() {
			if strings.Contains(strings.Join(s.pods, ","), "frozen") || slices.ContainsFunc(s.pods, func(p string) bool { return p == "" }) {
				t.Errorf("a step in the paused namespace: %+v", s)
			}
		}
		if got := ctl.shown(); got["in-place/paused"] != 2 || got["in-place/done"] != 2 {
			t.Errorf("series %v, want frozen's 2 paused and shop's 2 done", got)
		}
	})
}

// annotate sets a Deployment's annotations.
func annotate(t *testing.T, cl *cluster, ns, name string, annotations map[string]string) {
	t.Helper()
	d, err := cl.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Annotations = annotations
	if _, err := cl.cs.AppsV1().Deployments(ns).Update(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A leader that takes over redoes nothing: the pods updated by the last one carry the
// current record.
func TestControllerResumesWhereTheLastLeaderStopped(t *testing.T) {
	cl := webAt(t, "v1", 4)
	cfg := testConfig(t, "v2", "a")
	first := cl.controller(&cfg, nil)
	first.pass(cl)
	first.pass(cl)
	before := podsOf(cl.taken())
	second := cl.controller(&cfg, nil)
	for range 3 {
		second.pass(cl)
	}
	after := podsOf(cl.taken())
	if len(before) != 2 || len(after) != 2 || slices.ContainsFunc(after, func(p string) bool { return slices.Contains(before, p) }) {
		t.Errorf("the first leader updated %v, the second %v; want 2 each, none twice", before, after)
	}
}

// The series are what Describe says (a pedantic registry checks), all eight pod series
// are there even at zero, and only while leading.
func TestControllerSeries(t *testing.T) {
	cl := webAt(t, "v1", 1)
	cfg := testConfig(t, "v2", "a")
	ctl := cl.controller(&cfg, nil)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ctl.Controller)
	if n, err := series(reg); err != nil || n != 0 {
		t.Errorf("before a pass: %d series (%v), want none", n, err)
	}
	ctl.pass(cl)
	if n, err := series(reg); err != nil || n != 9 {
		t.Errorf("%d series (%v), want 8 of tandem_rollout_pods and tandem_rollout_halted", n, err)
	}
	ctl.drop()
	if n, _ := series(reg); n != 0 {
		t.Errorf("after the term: %d series, want none", n)
	}
}

// series counts the series reg gathers.
func series(reg *prometheus.Registry) (int, error) {
	families, err := reg.Gather()
	n := 0
	for _, f := range families {
		n += len(f.GetMetric())
	}
	return n, err
}
