package autorollout

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/config"
)

// ServedKey is the annotation each replica of `tandem serve --rollout` keeps on its own
// pod: the sha256 of the configuration it serves. The leader restarts an owner only
// once every ready replica announces the configuration it rolls out, so that the new
// pods get it whichever replica admits them.
const ServedKey = config.KeyPrefix + "config-sha256"

// Announcer writes ServedKey on this replica's pod each time the server starts serving a
// configuration. Announce never blocks the server; Run does the writing, retrying until
// it goes through or a newer configuration replaces it.
type Announcer struct {
	client          kubernetes.Interface
	namespace, name string
	log             *slog.Logger
	latest          chan string
}

// NewAnnouncer announces on pod namespace/name.
func NewAnnouncer(client kubernetes.Interface, namespace, name string, log *slog.Logger) *Announcer {
	return &Announcer{client: client, namespace: namespace, name: name, log: log.With("component", "rollout"), latest: make(chan string, 1)}
}

// Announce queues cfg's digest, replacing one not yet written.
func (a *Announcer) Announce(cfg *config.Config) {
	for {
		select {
		case a.latest <- cfg.SHA256:
			return
		default:
		}
		select {
		case <-a.latest:
		default:
		}
	}
}

// Run writes what Announce queues until ctx ends. Outside a pod of the cluster (the pod
// is not found) it says so once and stops: there are no replicas to agree.
func (a *Announcer) Run(ctx context.Context) {
	var pending string
	retry := time.NewTimer(0)
	<-retry.C
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case pending = <-a.latest:
			backoff = time.Second
		case <-retry.C:
		}
		err := a.write(ctx, pending)
		switch {
		case err == nil:
			continue
		case apierrors.IsNotFound(err):
			a.log.Info("not running in a pod of this cluster: the configuration served is not announced", "pod", a.namespace+"/"+a.name)
			return
		}
		a.log.Warn("cannot announce the configuration served on this replica's pod; the rollout's restarts wait for it; retrying", "error", err.Error(), "retryIn", backoff.String())
		retry.Reset(backoff)
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (a *Announcer) write(ctx context.Context, digest string) error {
	body := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, ServedKey, digest)
	_, err := a.client.CoreV1().Pods(a.namespace).Patch(ctx, a.name, types.MergePatchType, []byte(body), metav1.PatchOptions{})
	return err
}
