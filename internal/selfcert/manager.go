package selfcert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/certs"
)

// attempts bounds the read-modify-write retries of one Sync: each conflict means another
// replica wrote in between, and the next read sees what it wrote.
const attempts = 5

// Options configure a Manager.
type Options struct {
	Client kubernetes.Interface
	// Namespace and Secret name the Secret that holds the certificates.
	Namespace, Secret string
	// WebhookConfiguration is the MutatingWebhookConfiguration whose entries get the caBundle.
	WebhookConfiguration string
	Policy               Policy
	// CertFile and KeyFile are where the serving pair is written for the server to load.
	CertFile, KeyFile string
	// Resync is how often Run syncs even when nothing was seen to change; default 1 minute.
	Resync time.Duration
	Log    *slog.Logger
}

// Manager keeps the certificates; see the package documentation.
type Manager struct {
	o        Options
	caExpiry atomic.Int64 // Unix seconds; 0 until the first Sync
	trigger  chan struct{}
	// last is what the Secret held at the last Sync: a deleted or garbled Secret is
	// written back from it, so that what the replicas serve stays trusted.
	last map[string][]byte
}

// New checks the options; nothing touches the cluster before Sync or Run.
func New(o Options) (*Manager, error) {
	var errs []error
	if o.Client == nil || o.Namespace == "" || o.Secret == "" || o.WebhookConfiguration == "" {
		errs = append(errs, errors.New("self-managed certificates need a cluster, the Secret's namespace and name, and the webhook configuration's name"))
	}
	if o.CertFile == "" || o.KeyFile == "" {
		errs = append(errs, errors.New("self-managed certificates need the files to write the serving certificate and key to"))
	}
	if err := o.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Resync == 0 {
		o.Resync = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Manager{o: o, trigger: make(chan struct{}, 1)}, nil
}

// CAExpiry is when the current CA expires; zero before the first Sync.
func (m *Manager) CAExpiry() time.Time {
	if s := m.caExpiry.Load(); s != 0 {
		return time.Unix(s, 0)
	}
	return time.Time{}
}

// Sync brings the Secret, the serving files and the caBundle up to date, once, and
// returns when it must run again at the latest.
func (m *Manager) Sync(ctx context.Context) (time.Time, error) {
	data, err := m.syncSecret(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("certificates Secret %s/%s: %w", m.o.Namespace, m.o.Secret, err)
	}
	if err := m.writeFiles(data); err != nil {
		return time.Time{}, err
	}
	if err := m.syncCABundle(ctx, Bundle(data)); err != nil {
		return time.Time{}, fmt.Errorf("caBundle of MutatingWebhookConfiguration %s: %w", m.o.WebhookConfiguration, err)
	}
	return m.nextRenewal(data), nil
}

// syncSecret reads the Secret, renews what is due and writes it back, naming the
// version it read: a replica that loses a race reads the winner's certificates.
func (m *Manager) syncSecret(ctx context.Context) (map[string][]byte, error) {
	secrets := m.o.Client.CoreV1().Secrets(m.o.Namespace)
	for range attempts {
		s, err := secrets.Get(ctx, m.o.Secret, metav1.GetOptions{})
		missing := apierrors.IsNotFound(err)
		if missing {
			s, err = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: m.o.Secret, Namespace: m.o.Namespace,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "tandem"}}, Type: corev1.SecretTypeOpaque}, nil
		}
		if err != nil {
			return nil, err
		}
		input, restored := s.Data, ""
		if _, err := certs.LoadCA(s.Data[KeyCA], s.Data[KeyCAKey]); err != nil && m.last != nil {
			input, restored = m.last, "the Secret was missing or unusable: wrote back the certificates in use"
		}
		data, reasons, err := Renew(input, time.Now(), m.o.Policy)
		if err != nil {
			return nil, err
		}
		if restored != "" {
			reasons = append([]string{restored}, reasons...)
		}
		if len(reasons) == 0 {
			m.last = data
			return data, nil
		}
		s.Data = data
		if missing {
			_, err = secrets.Create(ctx, s, metav1.CreateOptions{})
		} else {
			_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
		}
		if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m.o.Log.Info("certificates renewed", "secret", m.o.Namespace+"/"+m.o.Secret, "reasons", reasons)
		m.last = data
		return data, nil
	}
	return nil, fmt.Errorf("still conflicting after %d attempts", attempts)
}

// writeFiles writes the serving pair for the server, when it differs from what the files hold.
func (m *Manager) writeFiles(data map[string][]byte) error {
	onDisk, _ := os.ReadFile(m.o.CertFile)
	if bytes.Equal(onDisk, data[KeyCert]) {
		return nil
	}
	pair := certs.KeyPair{CertPEM: data[KeyCert], KeyPEM: data[KeyKey]}
	if err := pair.WriteFiles(m.o.CertFile, m.o.KeyFile); err != nil {
		return fmt.Errorf("writing the serving certificate: %w", err)
	}
	return nil
}

// syncCABundle sets the caBundle of every entry of the webhook configuration. A
// configuration re-applied with an empty caBundle (helm upgrade, kubectl apply) is
// repaired here.
func (m *Manager) syncCABundle(ctx context.Context, bundle []byte) error {
	hooks := m.o.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	for range attempts {
		cfg, err := hooks.Get(ctx, m.o.WebhookConfiguration, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var stale []string
		for i := range cfg.Webhooks {
			if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, bundle) {
				cfg.Webhooks[i].ClientConfig.CABundle = bundle
				stale = append(stale, cfg.Webhooks[i].Name)
			}
		}
		if len(stale) == 0 {
			return nil
		}
		_, err = hooks.Update(ctx, cfg, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		m.o.Log.Info("caBundle written", "webhookConfiguration", m.o.WebhookConfiguration, "webhooks", stale)
		return nil
	}
	return fmt.Errorf("still conflicting after %d attempts", attempts)
}

// nextRenewal is the earliest time something in data falls due: the serving
// certificate's or the CA's renewal, the next CA's promotion, or the previous CA's expiry. It records the CA's
// expiry for the metric.
func (m *Manager) nextRenewal(data map[string][]byte) time.Time {
	var due []time.Time
	if ca, err := parseCert(data[KeyCA]); err == nil {
		m.caExpiry.Store(ca.NotAfter.Unix())
		due = append(due, ca.NotAfter.Add(-m.o.Policy.CARenewBefore))
	}
	if leaf, err := parseCert(data[KeyCert]); err == nil {
		due = append(due, leaf.NotAfter.Add(-m.o.Policy.ServingRenewBefore))
	}
	if prev, err := parseCert(data[KeyPreviousCA]); err == nil {
		due = append(due, prev.NotAfter)
	}
	if _, since, err := loadNext(data); err == nil {
		due = append(due, since.Add(m.o.Policy.Propagation))
	}
	if len(due) == 0 {
		return time.Now()
	}
	return slices.MinFunc(due, func(a, b time.Time) int { return a.Compare(b) })
}
