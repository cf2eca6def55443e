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

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
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
	now      func() time.Time // time.Now; tests move it
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
	return &Manager{o: o, trigger: make(chan struct{}, 1), now: time.Now}, nil
}

// CAExpiry is when the current CA expires; zero before the first Sync.
func (m *Manager) CAExpiry() time.Time {
	if s := m.caExpiry.Load(); s != 0 {
		return time.Unix(s, 0)
	}
	return time.Time{}
}

// Sync brings the Secret, the caBundle and the serving files up to date, once, in that
// order, and returns when it must run again at the latest. The files come last and only
// hold a certificate every caBundle entry trusts: a caBundle that cannot be written
// leaves the server serving what the API server still verifies.
func (m *Manager) Sync(ctx context.Context) (time.Time, error) {
	now := m.now()
	hooks := m.o.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	cfg, err := hooks.Get(ctx, m.o.WebhookConfiguration, metav1.GetOptions{})
	if err != nil {
		return time.Time{}, m.bundleError(err)
	}
	data, err := m.syncSecret(ctx, now, caBundles(cfg))
	if err != nil {
		return time.Time{}, fmt.Errorf("certificates Secret %s/%s: %w", m.o.Namespace, m.o.Secret, err)
	}
	bundles, bundleErr := m.syncCABundle(ctx, cfg, Bundle(data))
	if bundleErr != nil {
		bundleErr = m.bundleError(bundleErr)
	}
	if err := errors.Join(bundleErr, m.writeFiles(data, bundles, now)); err != nil {
		return time.Time{}, err
	}
	return m.nextRenewal(data, now), nil
}

func (m *Manager) bundleError(err error) error {
	return fmt.Errorf("caBundle of MutatingWebhookConfiguration %s: %w", m.o.WebhookConfiguration, err)
}

// syncSecret reads the Secret, renews what is due and writes it back, naming the
// version it read: a replica that loses a race reads the winner's certificates.
func (m *Manager) syncSecret(ctx context.Context, now time.Time, bundles [][]byte) (map[string][]byte, error) {
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
		input, why := m.input(s)
		data, reasons, err := Renew(input, now, m.o.Policy, bundles)
		if err != nil {
			return nil, err
		}
		if why != "" {
			reasons = append([]string{why}, reasons...)
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

// input is what Renew starts from, and why when it is not the Secret's data: nothing
// at all when an emergency rotation is requested (it is marked handled in s), else what
// this replica last used when the Secret is missing or unusable, so that what the
// replicas serve stays trusted.
func (m *Manager) input(s *corev1.Secret) (map[string][]byte, string) {
	if request := pendingRotation(s); request != "" {
		s.Annotations[AnnotationRotated] = request
		return nil, "emergency rotation " + request + ": the CA, its key, the serving certificate and every other CA are discarded"
	}
	if _, err := certs.LoadCA(s.Data[KeyCA], s.Data[KeyCAKey]); err != nil && m.last != nil {
		return m.last, "the Secret was missing or unusable: wrote back the certificates in use"
	}
	return s.Data, ""
}

// writeFiles writes the serving pair for the server, when it differs from what the files
// hold and every caBundle entry (as it stands after syncCABundle) trusts it.
func (m *Manager) writeFiles(data map[string][]byte, bundles [][]byte, now time.Time) error {
	onDisk, _ := os.ReadFile(m.o.CertFile)
	if bytes.Equal(onDisk, data[KeyCert]) {
		return nil
	}
	if !everyTrusts(bundles, data[KeyCert], now) {
		return errors.New("the serving certificate is not written yet: the caBundle does not trust it, so the server keeps the one it has")
	}
	pair := certs.KeyPair{CertPEM: data[KeyCert], KeyPEM: data[KeyKey]}
	if err := pair.WriteFiles(m.o.CertFile, m.o.KeyFile); err != nil {
		return fmt.Errorf("writing the serving certificate: %w", err)
	}
	return nil
}

// syncCABundle sets the caBundle of every entry of cfg, the webhook configuration as
// read, and returns the caBundles the entries hold in the end (as read, when it fails).
// A configuration re-applied with an empty caBundle (helm upgrade, kubectl apply) is
// repaired here.
func (m *Manager) syncCABundle(ctx context.Context, cfg *admissionregistrationv1.MutatingWebhookConfiguration, bundle []byte) ([][]byte, error) {
	hooks := m.o.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	for range attempts {
		held := caBundles(cfg)
		var stale []string
		for i := range cfg.Webhooks {
			if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, bundle) {
				cfg.Webhooks[i].ClientConfig.CABundle = bundle
				stale = append(stale, cfg.Webhooks[i].Name)
			}
		}
		if len(stale) == 0 {
			return held, nil
		}
		updated, err := hooks.Update(ctx, cfg, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if cfg, err = hooks.Get(ctx, m.o.WebhookConfiguration, metav1.GetOptions{}); err != nil {
				return held, err
			}
			continue
		}
		if err != nil {
			return held, err
		}
		m.o.Log.Info("caBundle written", "webhookConfiguration", m.o.WebhookConfiguration, "webhooks", stale)
		return caBundles(updated), nil
	}
	return caBundles(cfg), fmt.Errorf("still conflicting after %d attempts", attempts)
}

func caBundles(cfg *admissionregistrationv1.MutatingWebhookConfiguration) [][]byte {
	bundles := make([][]byte, 0, len(cfg.Webhooks))
	for _, w := range cfg.Webhooks {
		bundles = append(bundles, w.ClientConfig.CABundle)
	}
	return bundles
}

// nextRenewal is the earliest time something in data falls due: the serving
// certificate's or the CA's renewal, the next CA's promotion (or, before its wait is
// recorded, a prompt look at the caBundle just written), or the previous CA's expiry.
// It records the CA's expiry for the metric.
func (m *Manager) nextRenewal(data map[string][]byte, now time.Time) time.Time {
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
	if _, ok := data[KeyNextCA]; ok {
		if since, err := time.Parse(time.RFC3339Nano, string(data[KeyNextSince])); err == nil {
			due = append(due, since.Add(m.o.Policy.Propagation))
		} else {
			due = append(due, now.Add(retryAfter))
		}
	}
	if len(due) == 0 {
		return now
	}
	return slices.MinFunc(due, func(a, b time.Time) int { return a.Compare(b) })
}
