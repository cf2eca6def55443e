package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/audit"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/version"
	"github.com/tandem-io/tandem/internal/webhook"
)

type serveFlags struct {
	opts          webhook.Options
	certs         certFlags
	configPath    string
	cluster       clusterFlags
	logLevel      string
	auditInterval time.Duration
	auditLease    string
	rollout       serveRolloutFlags
}

func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve (--tls-cert-file FILE --tls-key-file FILE | --certificates self ...) [--config FILE]",
		Short: "Run the mutating admission webhook",
		Long: `Serves admission on HTTPS (POST /mutate), /healthz and /readyz, and Prometheus
/metrics. The configuration file and the certificate are reloaded when they change.
Namespace labels are read from the cluster given by --kubeconfig (or --context), or the
pod's service account when run in a pod; without either, Tandem runs with namespace
labels unknown. With a cluster, --config is required (--config builtin:example names
the embedded example); without one, the example is served by default, and the log says
so. With --rollout, the replica holding --audit-lease keeps running pods current with
the configuration, one step every --rollout-interval. See docs/operations.md.`,
		Example: "  tandem serve --config examples/config.yaml --tls-cert-file tls.crt --tls-key-file tls.key",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.rollout.check(cmd.Flags()); err != nil {
				return err
			}
			return runServe(&f)
		},
	}
	flags := cmd.Flags()
	o := &f.opts
	addClusterConfigFlag(flags, &f.configPath, ", reloaded when it changes")
	flags.StringVar(&o.CertFile, "tls-cert-file", "", "serving certificate, PEM (required with --certificates files; reloaded when it changes)")
	flags.StringVar(&o.KeyFile, "tls-key-file", "", "serving key, PEM (required with --certificates files; reloaded when it changes)")
	f.certs.register(flags)
	flags.StringVar(&o.ClientCAFile, "client-ca-file", "", "require clients to present a certificate signed by one of these CAs, PEM (reloaded when it changes)")
	flags.BoolVar(&o.EnableHTTP2, "enable-http2", false, "offer HTTP/2 on the admission port")
	flags.StringVar(&o.ListenAddress, "listen-address", ":8443", "admission (HTTPS) address; port 0 picks a free port")
	flags.StringVar(&o.HealthAddress, "health-address", ":8081", "/healthz and /readyz (HTTP) address")
	flags.StringVar(&o.MetricsAddress, "metrics-address", ":8080", "/metrics (HTTP) address")
	f.cluster.register(flags, "the pod's service account when in a pod, else none; never $KUBECONFIG")
	addNativeSidecarsFlag(flags, &o.NativeSidecars, "auto (when the API server is 1.29 or newer, or without a cluster)")
	flags.DurationVar(&o.ReloadInterval, "reload-interval", time.Minute, "check the configuration and certificate files this often even without a change event")
	flags.DurationVar(&o.ShutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long after turning unready, so endpoints drop the pod first")
	flags.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "on SIGTERM, wait this long at most for requests in flight")
	flags.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	flags.DurationVar(&f.auditInterval, "audit-interval", 0, "count pods that lack sidecars they asked for or carry outdated ones this often, for the tandem_pods_*_sidecars metrics, on the replica holding --audit-lease (0: off)")
	flags.StringVar(&f.auditLease, "audit-lease", "", "NAMESPACE/NAME of the Lease that elects the replica counting for --audit-interval and rolling out with --rollout (default: the pod's namespace, and tandem-audit)")
	f.rollout.register(flags)
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
	if err := checkNativeSidecars(f.opts.NativeSidecars); err != nil {
		return err
	}
	cluster, err := f.cluster.serving()
	if err != nil {
		return err
	}
	if err := serveConfig(f, cluster != nil, log); err != nil {
		return err
	}
	f.opts.Cluster = cluster
	certs, err := f.certs.selfManaged(cluster, &f.opts.CertFile, &f.opts.KeyFile, log)
	if err != nil {
		return err
	}
	auditor, err := newAuditMonitor(f, cluster, log)
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
	if auditor != nil {
		f.opts.Collectors = append(f.opts.Collectors, auditor.collectors...)
		auditCtx, stopAudit := context.WithCancel(ctx)
		var wg sync.WaitGroup
		// Waiting lets the Lease go before the process exits, so that another replica
		// takes over the audit at once rather than when the Lease expires.
		defer wg.Wait()
		defer stopAudit()
		wg.Go(func() {
			if err := auditor.Run(auditCtx); err != nil {
				log.Error("the audit stopped; the webhook keeps serving", "error", err.Error())
			}
		})
	}
	return webhook.Run(ctx, f.opts)
}

// serveConfig sets the configuration the server serves: the file --config names, or the
// embedded example, which is refused against a cluster unless named (builtinConfig) and
// announced in the log as a warning either way.
func serveConfig(f *serveFlags, cluster bool, log *slog.Logger) error {
	if f.configPath != "" && f.configPath != builtinConfig {
		f.opts.ConfigFile = f.configPath
		log.Info("serving the configuration file", "config", f.configPath)
		return nil
	}
	if cluster {
		if err := requireConfig("tandem serve", f.configPath); err != nil {
			return err
		}
	}
	cfg, err := loadConfig(builtinConfig)
	if err != nil {
		return err
	}
	f.opts.Config = cfg
	log.Warn("serving the embedded example configuration, never reloaded: pods get the example's sidecars ("+strings.Join(cfg.Names(), ", ")+"); give --config FILE to serve yours", "config", exampleSource)
	return nil
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

// defaultAuditLease is the Lease's name when --audit-lease names none.
const defaultAuditLease = "tandem-audit"

// serviceAccountNamespace is where the kubelet writes the pod's namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// leader is the audit's Monitor, which runs the rollout controller as a task when
// --rollout is on, and the collectors of both.
type leader struct {
	*audit.Monitor
	collectors []prometheus.Collector
}

// newAuditMonitor makes the monitor behind --audit-interval and --rollout; nil when both
// are off.
func newAuditMonitor(f *serveFlags, cluster *rest.Config, log *slog.Logger) (*leader, error) {
	if f.auditInterval < 0 {
		return nil, fmt.Errorf("--audit-interval must not be negative")
	}
	if f.auditInterval == 0 && !f.rollout.enabled {
		return nil, nil
	}
	if cluster == nil {
		flag := "--audit-interval"
		if f.rollout.enabled {
			flag = "--rollout"
		}
		return nil, fmt.Errorf("%s needs a cluster: --kubeconfig, or run in a pod", flag)
	}
	namespace, name, err := auditLease(f.auditLease)
	if err != nil {
		return nil, err
	}
	identity, err := auditIdentity()
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(cluster)
	if err != nil {
		return nil, err
	}
	leases, err := kubernetes.NewForConfig(cluster)
	if err != nil {
		return nil, err
	}
	// The audit and the rollout read the file at each pass rather than sharing the
	// server's copy, so that they follow the same reloads; the embedded default never
	// changes.
	current := func() (*config.Config, error) { return config.Load(f.opts.ConfigFile) }
	if f.opts.ConfigFile == "" {
		current = func() (*config.Config, error) { return f.opts.Config, nil }
	}
	l := &leader{}
	var tasks []audit.Task
	ctl, err := f.rollout.controller(cluster, namespace, current, log)
	if err != nil {
		return nil, err
	}
	if ctl != nil {
		tasks = append(tasks, ctl.Run)
		l.collectors = append(l.collectors, ctl)
	}
	l.Monitor, err = audit.NewMonitor(audit.MonitorOptions{
		Metadata: meta, Leases: leases.CoordinationV1(), LeaseNamespace: namespace, LeaseName: name,
		Identity: identity, Interval: f.auditInterval, Config: current, Log: log, Tasks: tasks,
	})
	if err != nil {
		return nil, err
	}
	if f.auditInterval > 0 {
		l.collectors = append(l.collectors, l.Monitor)
	}
	return l, nil
}

// auditLease parses --audit-lease; its namespace defaults to the pod's, from
// $POD_NAMESPACE (the downward API) or the service account's namespace file.
func auditLease(flag string) (namespace, name string, err error) {
	if flag != "" {
		namespace, name, ok := strings.Cut(flag, "/")
		if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
			return "", "", fmt.Errorf("--audit-lease must be NAMESPACE/NAME, not %q", flag)
		}
		return namespace, name, nil
	}
	namespace = os.Getenv("POD_NAMESPACE")
	if namespace == "" {
		data, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return "", "", fmt.Errorf("--audit-lease: no namespace given and not in a pod (%v): give --audit-lease NAMESPACE/NAME", err)
		}
		namespace = strings.TrimSpace(string(data))
	}
	return namespace, defaultAuditLease, nil
}

// auditIdentity names this replica in the Lease: the host name (the pod's name in a
// pod), and random bytes so that two processes on one host differ too.
func auditIdentity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return host + "_" + rand.Text()[:8], nil
}
