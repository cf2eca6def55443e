package main

import (
	"context"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/selfcert"
)

type rotateFlags struct {
	emergency bool
	secret    string // NAMESPACE/NAME
	webhook   string
	cluster   clusterFlags
	timeout   time.Duration
}

func newCertificatesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certificates",
		Short: "Act on the certificates of tandem serve --certificates self",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRotateCommand())
	return cmd
}

func newRotateCommand() *cobra.Command {
	var f rotateFlags
	cmd := &cobra.Command{
		Use:   "rotate --emergency --certificate-secret NAMESPACE/NAME [--webhook-configuration NAME]",
		Short: "Discard the CA and its key now, everywhere (when they may have leaked)",
		Long: `Asks the running replicas of tandem serve --certificates self to discard their CA, its
key, the serving certificate and any previous or next CA, and to start again from a new
CA: in the Secret, in the caBundle of the webhook configuration and in what each replica
serves. It waits until the caBundle trusts the new CA and no longer the old one.

Unlike a planned rotation, which happens on its own with an overlap, there is none:
webhook calls fail for a few seconds, until every replica serves a certificate of the new
CA, and the webhook's failurePolicy decides for those calls. See docs/install.md.`,
		Example: "  tandem certificates rotate --emergency --certificate-secret tandem-system/tandem-certs",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRotate(cmd, &f)
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&f.emergency, "emergency", false, "required: acknowledges that webhook calls fail for a few seconds")
	flags.StringVar(&f.secret, "certificate-secret", "", "the Secret tandem serve keeps the certificates in, NAMESPACE/NAME (the chart's: RELEASE-NAMESPACE/FULLNAME-certs)")
	flags.StringVar(&f.webhook, "webhook-configuration", "tandem", "the MutatingWebhookConfiguration whose caBundle must trust the new CA only")
	f.cluster.register(flags, kubectlDefault)
	flags.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long to wait for the replicas and the caBundle")
	return cmd
}

func runRotate(cmd *cobra.Command, f *rotateFlags) error {
	if !f.emergency {
		return errors.New("rotate needs --emergency: a planned CA rotation happens on its own (--ca-renew-before), with an overlap; " +
			"--emergency discards the CA at once, and webhook calls fail for a few seconds")
	}
	namespace, name, ok := strings.Cut(f.secret, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("--certificate-secret must be NAMESPACE/NAME, not %q", f.secret)
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, not %s", f.timeout)
	}
	rc, _, err := f.cluster.load()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	request, old, err := selfcert.RequestRotation(cmd.Context(), client, namespace, name, time.Now())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "emergency rotation %s requested on Secret %s; discarding CA %s\n", request, f.secret, fingerprint(old))
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	current, err := selfcert.WaitRotated(ctx, client, namespace, name, f.webhook, request, old, 500*time.Millisecond)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "new CA %s; the caBundle of %s trusts it alone; replicas serve it within seconds\n", fingerprint(current), f.webhook)
	return nil
}

// fingerprint names a PEM certificate by the SHA-256 of its DER bytes, which
// `openssl x509 -noout -fingerprint -sha256` prints too (with colons).
func fingerprint(pemBytes []byte) string {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return "(none)"
	}
	sum := sha256.Sum256(block.Bytes)
	return fmt.Sprintf("sha256:%X", sum)
}
