package rolloutcontroller

import (
	"testing"
	"time"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// interval is the controller's pause between two steps, and how often it looks for
// work.
const interval = 3 * time.Second

// quiet is how long a test waits to see that nothing happens: three intervals, in each
// of which the controller looks for work.
const quiet = 3 * interval

// The rollout controller of a Helm install with two replicas, in its scenarios, one
// after the other on the same install, each in namespaces of its own: the
// configuration is the cluster's, so each scenario starts from the one the previous
// left, and its namespaces are gone before the next begins.
func TestRolloutController(t *testing.T) {
	install(t, base,
		"rollout.enabled=true",
		"rollout.interval="+interval.String(),
		"rollout.maxUnavailable=1",
		"rollout.restart=true",
		"rollout.missing=true",
		// A bad image fails within seconds (pull policy Never); the timeout only bounds
		// what the kubelet would not report.
		"rollout.timeout=1m",
		// test/e2e/install checks the validation Job; here it would only add seconds to
		// each configuration.
		"validation.enabled=false")

	t.Run("two replicas inject the proxy", func(t *testing.T) {
		if err := tandemtest.WaitActive(t.Context(), client, namespace(t, nil), "proxy"); err != nil {
			t.Fatal(err)
		}
	})
	// These change the proxy's image in place, which a native sidecar takes from
	// Kubernetes 1.32 (before, it is a restart: test/e2e/rollout checks the plan).
	imagesInPlace := tandemtest.ServerAtLeast(t, client, 32)
	inPlace := func(name string, scenario func(*testing.T)) {
		t.Run(name, func(t *testing.T) {
			if !imagesInPlace {
				t.Skip("before Kubernetes 1.32 no native sidecar's image changes in place")
			}
			scenario(t)
		})
	}
	inPlace("a new proxy image reaches every pod in place, one pod at a time", inPlaceImage)
	inPlace("a new leader finishes the rollout a lost one started, redoing no pod", leaderLost)
	inPlace("a bad image is put back on the first pod and halts the rollout until the configuration changes", badImage)
	inPlace("a paused namespace is left alone until its annotation goes", pausedNamespace)
	inPlace("the global pause holds every pod until it is lifted", globalPause)
	t.Run("a new env var restarts the Deployment once", envRestart)
	t.Run("pods admitted while Tandem was down have their Deployment restarted", missingRestart)
}
