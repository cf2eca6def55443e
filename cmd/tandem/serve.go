package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/internal/version"
	"github.com/tandem-io/tandem/internal/webhook"
)

type serveFlags struct {
	opts       webhook.Options
	certs      certFlags
	kubeconfig string
	logLevel   string
}

func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve (--tls-cert-file FILE --tls-key-file FILE | --certificates self ...) [--config FILE]",
		Short: "Run the mutating admission webhook",
		Long: `Serves admission on HTTPS (POST /mutate), /healthz and /readyz, and Prometheus
/metrics. The configuration file and the certificate are reloaded when they change.
Namespace labels are read from the cluster given by --kubeconfig, or the pod's service
account when run in a pod; without either, Tandem runs with namespace labels unknown.
See docs/operations.md.`,
		Example: "  tandem serve --config examples/config.yaml --tls-cert-file tls.crt --tls-key-file tls.key",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(&f)
		},
	}
	flags := cmd.Flags()
	o := &f.opts
	flags.StringVar(&o.ConfigFile, "config", "", "configuration file, reloaded when it changes (default: the embedded examples/config.yaml, never reloaded)")
	flags.StringVar(&o.CertFile, "tls-cert-file", "", "serving certificate, PEM (required with --certificates files; reloaded when it changes)")
	flags.StringVar(&o.KeyFile, "tls-key-file", "", "serving key, PEM (required with --certificates files; reloaded when it changes)")
	f.certs.register(flags)
	flags.StringVar(&o.ClientCAFile, "client-ca-file", "", "require clients to present a certificate signed by one of these CAs, PEM (reloaded when it changes)")
	flags.BoolVar(&o.EnableHTTP2, "enable-http2", false, "offer HTTP/2 on the admission port")
	flags.StringVar(&o.ListenAddress, "listen-address", ":8443", "admission (HTTPS) address; port 0 picks a free port")
	flags.StringVar(&o.HealthAddress, "health-address", ":8081", "/healthz and /readyz (HTTP) address")
	flags.StringVar(&o.MetricsAddress, "metrics-address", ":8080", "/metrics (HTTP) address")
	flags.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to read namespaces from (default: in-cluster config when in a pod, else none)")
	flags.StringVar(&o.NativeSidecars, "native-sidecars", "auto", "inject native sidecars: auto (when the API server is 1.29 or newer, or without a cluster), true or false")
	flags.DurationVar(&o.ReloadInterval, "reload-interval", time.Minute, "check the configuration and certificate files this often even without a change event")
	flags.DurationVar(&o.ShutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long after turning unready, so endpoints drop the pod first")
	flags.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "on SIGTERM, wait this long at most for requests in flight")
	flags.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runServe(f *serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	// The logger outlives the signal context, so that shutdown is logged.
	logCtx, stopLogs := context.WithCancel(context.Background())
	log, flushLogs := newServeLogger(logCtx, os.Stderr, level)
	defer flushLogs()
	defer stopLogs()
	f.opts.Logger = log
	if f.opts.ConfigFile == "" {
		cfg, err := loadConfig("")
		if err != nil {
			return err
		}
		f.opts.Config = cfg
	}
	cluster, err := webhook.ClusterConfig(f.kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	if cluster != nil {
		cluster.UserAgent = "tandem/" + version.Version
	}
	f.opts.Cluster = cluster
	certs, err := f.certs.selfManaged(cluster, &f.opts.CertFile, &f.opts.KeyFile, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	gcPercent := tuneGC()
	log.Info("starting tandem", "version", version.String(), "gcPercent", gcPercent, "certificates", f.certs.mode)
	if certs != nil {
		if err := firstSync(ctx, certs, log); err != nil {
			return err
		}
		f.opts.CAExpiry = certs.CAExpiry
		go certs.Run(ctx)
	}
	return webhook.Run(ctx, f.opts)
}

// defaultGCPercent is the garbage collector's target when GOGC is not set. Admission
// garbage is short-lived and the live heap is small (the config and the namespace
// labels), so Go's default of 100 collects every few hundred requests; 400 cuts the
// collector's CPU by about four for a few more MiB of heap (docs/performance.md). Bound
// the heap in a container with GOMEMLIMIT (docs/operations.md).
const defaultGCPercent = 400

// tuneGC applies defaultGCPercent unless the operator set GOGC, and returns the percent
// in effect.
func tuneGC() int {
	if _, ok := os.LookupEnv("GOGC"); ok {
		pct := debug.SetGCPercent(100) // read what the runtime took from GOGC...
		debug.SetGCPercent(pct)        // ...and put it back
		return pct
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}
