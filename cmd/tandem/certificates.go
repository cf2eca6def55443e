package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/selfcert"
)

// certFlags choose where the serving certificate comes from: files someone else keeps
// (--certificates files: cert-manager, a mounted Secret), or Tandem itself (self).
type certFlags struct {
	mode    string
	secret  string // NAMESPACE/NAME
	webhook string
	dir     string
	policy  selfcert.Policy
	resync  time.Duration
}

func (f *certFlags) register(flags *pflag.FlagSet) {
	flags.StringVar(&f.mode, "certificates", "files", "where the serving certificate comes from: files (--tls-cert-file, --tls-key-file) or self (Tandem keeps a CA and a serving certificate in --certificate-secret and writes the CA into --webhook-configuration's caBundle)")
	flags.StringVar(&f.secret, "certificate-secret", "", "self: the Secret holding the certificates, NAMESPACE/NAME")
	flags.StringVar(&f.webhook, "webhook-configuration", "tandem", "self: the MutatingWebhookConfiguration whose entries get the caBundle")
	flags.StringSliceVar(&f.policy.Hosts, "certificate-hosts", nil, "self: the serving certificate's DNS names and IP addresses (the Service's NAME.NAMESPACE.svc)")
	flags.StringVar(&f.dir, "certificate-dir", "", "self: where the serving certificate and key are written for the server (default: a new temporary directory)")
	flags.DurationVar(&f.policy.CAValidity, "ca-validity", 5*365*24*time.Hour, "self: how long a new CA is valid")
	flags.DurationVar(&f.policy.CARenewBefore, "ca-renew-before", 90*24*time.Hour, "self: renew the CA this long before it expires; the old CA stays in the caBundle until then")
	flags.DurationVar(&f.policy.Propagation, "ca-propagation", 10*time.Second, "self: how long every caBundle entry must have held a new CA before it signs the serving certificate, so the API server trusts it first")
	flags.DurationVar(&f.policy.ServingValidity, "serving-validity", 90*24*time.Hour, "self: how long a new serving certificate is valid")
	flags.DurationVar(&f.policy.ServingRenewBefore, "serving-renew-before", 30*24*time.Hour, "self: renew the serving certificate this long before it expires")
	flags.DurationVar(&f.resync, "certificate-resync", time.Minute, "self: check the Secret and the caBundle this often even without a change event")
}

// selfManaged prepares self-managed certificates: it returns nil in files mode. The
// serving files it will write are set in certFile and keyFile.
func (f *certFlags) selfManaged(cluster *rest.Config, certFile, keyFile *string, log *slog.Logger) (*selfcert.Manager, error) {
	switch f.mode {
	case "files":
		if *certFile == "" || *keyFile == "" {
			return nil, errors.New("--certificates files needs --tls-cert-file and --tls-key-file")
		}
		return nil, nil
	case "self":
	default:
		return nil, fmt.Errorf("--certificates must be files or self, not %q", f.mode)
	}
	if cluster == nil {
		return nil, errors.New("--certificates self needs a cluster: --kubeconfig, or run in a pod")
	}
	namespace, name, ok := strings.Cut(f.secret, "/")
	if !ok || namespace == "" || name == "" {
		return nil, fmt.Errorf("--certificate-secret must be NAMESPACE/NAME, not %q", f.secret)
	}
	if *certFile != "" || *keyFile != "" {
		return nil, errors.New("--certificates self writes the serving files itself: drop --tls-cert-file and --tls-key-file, or use --certificate-dir")
	}
	dir := f.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tandem-certs-"); err != nil {
			return nil, err
		}
	}
	*certFile, *keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	client, err := kubernetes.NewForConfig(cluster)
	if err != nil {
		return nil, err
	}
	return selfcert.New(selfcert.Options{
		Client: client, Namespace: namespace, Secret: name, WebhookConfiguration: f.webhook,
		Policy: f.policy, CertFile: *certFile, KeyFile: *keyFile, Resync: f.resync, Log: log,
	})
}

// firstSync retries until the certificates are in place or ctx ends. Until then the
// server has not started, so its readiness probe fails: no traffic reaches a replica
// without a certificate the caBundle trusts.
func firstSync(ctx context.Context, m *selfcert.Manager, log *slog.Logger) error {
	for {
		_, err := m.Sync(ctx)
		if err == nil {
			return nil
		}
		log.Error("certificates not ready; retrying", "error", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("certificates never got ready: %w", err)
		case <-time.After(2 * time.Second):
		}
	}
}
