package autorollout

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"

	"github.com/tandem-io/tandem/internal/rollout"
)

// What `tandem audit` shows of the controller: per owner what it does, the next step,
// or why it is stopped.
func TestPreview(t *testing.T) {
	v1 := testConfig(t, "v1", "a")
	web := rollout.Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	api := rollout.Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}
	inPlace := Settings{InPlace: true, MaxUnavailable: intstr.FromInt32(1), Interval: 30e9}
	for _, tc := range []struct {
		name      string
		settings  Settings
		pausedBy  string
		failed    bool
		web, api  string // what the owners' lines say
		next      string
		stoppedAs string
	}{
		{name: "in place only", settings: inPlace,
			web: "the controller updates 2 pods in place", api: "left to you: the controller's settings do not allow it",
			next: "Deployment shop/web: web-0 in place (proxy: image proxy:v1 → proxy:v2)"},
		{name: "restarts on", settings: Settings{InPlace: true, Restart: true, MaxUnavailable: intstr.FromInt32(1)},
			web: "the controller updates 2 pods in place", api: "the controller restarts it: ",
			next: "Deployment shop/api: restart (proxy: env MARK"},
		{name: "paused by flag", settings: Settings{InPlace: true, Paused: true, MaxUnavailable: intstr.FromInt32(1)},
			web: "the controller updates 2 pods in place", stoppedAs: "paused by --rollout-paused"},
		{name: "paused on the Deployment", settings: inPlace, pausedBy: "Deployment tandem",
			web: "the controller updates", stoppedAs: "paused by tandem.io/rollout on Tandem's Deployment tandem"},
		{name: "halted", settings: inPlace, failed: true,
			web: "the controller updates", stoppedAs: "halted: pod shop/web-1 did not take this configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t)
			cl.deployment("shop", "web", 2, v1)
			cl.deployment("shop", "api", 1, v1)
			cfg := testConfig(t, "v2", "a")
			// api's pods carry another MARK: a change that needs a new pod.
			cl.update("shop", "api-0", func(p *corev1.Pod) {
				p.Annotations["tandem.io/status"] = strings.Replace(p.Annotations["tandem.io/status"], `"env/MARK":"`, `"env/MARK":"0`, 1)
			})
			if tc.failed {
				cl.update("shop", "web-1", func(p *corev1.Pod) { p.Annotations[FailedKey] = cfg.SHA256 })
			}
			d := cl.cs.Discovery().(*fakediscovery.FakeDiscovery)
			d.FakedServerVersion = &version.Info{Major: "1", Minor: "33", GitVersion: "v1.33.0"}
			d.Resources = []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}, {Name: "pods/resize"}}}}
			out, err := Preview(context.Background(), cl.cs, cfg, tc.settings, "", tc.pausedBy)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.Owners[web], tc.web) || !strings.HasPrefix(out.Owners[api], tc.api) {
				t.Errorf("owners: web %q, api %q; want %q and %q", out.Owners[web], out.Owners[api], tc.web, tc.api)
			}
			if !strings.HasPrefix(out.Next, tc.next) || tc.next == "" && out.Next != "" {
				t.Errorf("next %q, want %q", out.Next, tc.next)
			}
			if !strings.HasPrefix(out.Stopped, tc.stoppedAs) || tc.stoppedAs == "" && out.Stopped != "" {
				t.Errorf("stopped %q, want %q", out.Stopped, tc.stoppedAs)
			}
		})
	}
}
