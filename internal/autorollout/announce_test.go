package autorollout

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// Each configuration served is announced on the replica's pod, the latest winning; a
// refused write is retried.
func TestAnnouncerWritesTheConfigurationServed(t *testing.T) {
	cs := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "tandem-system", Name: "tandem-a"}})
	var refused atomic.Int32
	cs.PrependReactor("patch", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if refused.Add(1) == 1 {
			return true, nil, errors.New("the API server is busy")
		}
		return false, nil, nil
	})
	a := NewAnnouncer(cs, "tandem-system", "tandem-a", slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	served := func() string {
		p, err := cs.CoreV1().Pods("tandem-system").Get(context.Background(), "tandem-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Annotations[ServedKey]
	}
	for _, cfg := range []string{"v1", "v2"} {
		c := testConfig(t, cfg, "a")
		a.Announce(c)
		deadline := time.Now().Add(10 * time.Second)
		for served() != c.SHA256 {
			if time.Now().After(deadline) {
				t.Fatalf("the pod announces %q, want %s", served(), c.SHA256)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if refused.Load() < 3 {
		t.Errorf("%d writes; want the refused one retried, then the next configuration", refused.Load())
	}
}

// Outside a pod of the cluster, the announcer stops at once.
func TestAnnouncerStopsWithoutAPod(t *testing.T) {
	a := NewAnnouncer(fake.NewClientset(), "tandem-system", "laptop", slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.Announce(testConfig(t, "v1", "a"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(context.Background())
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the announcer still runs without a pod to write on")
	}
}
