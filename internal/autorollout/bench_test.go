package autorollout

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/internal/audit"
)

// A pass over a fleet whose pods are all current: what the leader spends every interval
// once a rollout is done. It reads the view only; no request reaches the API server.
func BenchmarkPassCurrentFleet(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			cfg := testConfig(b, "v1", "a")
			cl := newCluster(b)
			pod := cl.admitted("shop", "web-0", nil, cfg)
			pods := cache.NewStore(cache.MetaNamespaceKeyFunc)
			for i := range n {
				m := &metav1.PartialObjectMetadata{ObjectMeta: *pod.ObjectMeta.DeepCopy()}
				m.Name = fmt.Sprintf("web-%d", i)
				_ = pods.Add(m)
			}
			view := audit.NewView(pods, cache.NewStore(cache.MetaNamespaceKeyFunc))
			ctl := cl.controller(&cfg, nil)
			b.ReportAllocs()
			for b.Loop() {
				ctl.Controller.pass(b.Context(), view, modern)
			}
			if s := cl.taken(); len(s) != 0 {
				b.Fatalf("a pass over current pods took %+v", s)
			}
		})
	}
}
