package selfcert

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// retryAfter is how soon a failed Sync is tried again.
const retryAfter = 2 * time.Second

// Run syncs now, then whenever the Secret or the webhook configuration changes (another
// replica renewed; someone blanked the caBundle or deleted the Secret), when the next
// renewal falls due, and every Resync, until ctx ends. Failures are logged and retried:
// the server keeps serving the certificate it has.
func (m *Manager) Run(ctx context.Context) {
	m.watch(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.trigger:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		next, err := m.Sync(ctx)
		wait := min(time.Until(next), m.o.Resync)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.o.Log.Error("certificates not in sync; retrying", "error", err.Error())
			wait = retryAfter
		}
		timer.Reset(max(wait, 0))
	}
}

// watch triggers a sync on any change of the one Secret or the one webhook
// configuration. Both are watched by name, which RBAC can restrict to them alone.
func (m *Manager) watch(ctx context.Context) {
	byName := func(name string) informers.SharedInformerOption {
		return informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		})
	}
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { m.poke() },
		UpdateFunc: func(any, any) { m.poke() },
		DeleteFunc: func(any) { m.poke() },
	}
	secrets := informers.NewSharedInformerFactoryWithOptions(m.o.Client, 0, informers.WithNamespace(m.o.Namespace), byName(m.o.Secret))
	hooks := informers.NewSharedInformerFactoryWithOptions(m.o.Client, 0, byName(m.o.WebhookConfiguration))
	_, _ = secrets.Core().V1().Secrets().Informer().AddEventHandler(poke)
	_, _ = hooks.Admissionregistration().V1().MutatingWebhookConfigurations().Informer().AddEventHandler(poke)
	secrets.Start(ctx.Done())
	hooks.Start(ctx.Done())
}

func (m *Manager) poke() {
	select {
	case m.trigger <- struct{}{}:
	default:
	}
}
