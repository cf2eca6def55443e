package autorollout

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/internal/audit"
)

// A pass over a fleet whose pods are all current: what the leader spends every interval
// once a rollout is done. It reads the view only; no request reaches the API server.
// "unchanged": the pods have not changed since the last pass (their verdicts are
// kept); "changed": every pod is judged again, as after a new configuration.
func BenchmarkPassCurrentFleet(b *testing.B) {
	for _, bc := range []struct {
		n       int
		changed bool
	}{{1000, true}, {10000, true}, {10000, false}} {
		name := fmt.Sprintf("pods=%d/unchanged", bc.n)
		if bc.changed {
			name = fmt.Sprintf("pods=%d/changed", bc.n)
		}
		n := bc.n
		b.Run(name, func(b *testing.B) {
			cfg := testConfig(b, "v1", "a")
			cl := newCluster(b)
			pod := cl.admitted("shop", "web-0", nil, cfg)
			pods := cache.NewStore(cache.MetaNamespaceKeyFunc)
			for i := range n {
				m := &metav1.PartialObjectMetadata{ObjectMeta: *pod.ObjectMeta.DeepCopy()}
				m.Name = fmt.Sprintf("web-%d", i)
				m.UID = types.UID(m.Name)
				if !bc.changed {
					m.ResourceVersion = "1"
				}
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
