package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/config"
)

// Options configure a Server. The zero value of every field but the certificate and the
// configuration has a working default (setDefaults).
type Options struct {
	// ConfigFile is loaded, then reloaded whenever it changes. When it is empty, Config is
	// served as it is, without reload.
	ConfigFile string
	Config     *config.Config

	// CertFile and KeyFile are the serving certificate and key, in PEM; they are reloaded
	// whenever they change.
	CertFile, KeyFile string
	// ClientCAFile, when set, makes clients (the API server) present a certificate signed
	// by one of its CAs.
	ClientCAFile string
	// CAExpiry, when set, tells when the CA that signs the serving certificate expires,
	// for the metrics; zero while unknown. Set when Tandem manages its own CA.
	CAExpiry func() time.Time
	// EnableHTTP2 offers HTTP/2 on the webhook port; off by default.
	EnableHTTP2 bool

	// Addresses to listen on, host:port; port 0 picks a free port (Server.Addrs tells which).
	ListenAddress  string // admission, HTTPS; default :8443
	HealthAddress  string // /healthz and /readyz, HTTP; default :8081
	MetricsAddress string // /metrics, HTTP; default :8080

	// Cluster is the API server namespaces and its version are read from; nil runs without
	// a cluster (namespace labels are then unknown).
	Cluster *rest.Config
	// NativeSidecars is auto, true or false; auto asks the API server its version.
	NativeSidecars string

	// MaxConnections bounds the open connections to the admission port; more are closed
	// as soon as they are accepted. Default 1024.
	MaxConnections int
	// MaxRequestsInFlight bounds the admission requests being read or answered at once;
	// more are refused with 429 and Retry-After. Default 256.
	MaxRequestsInFlight int
	// MaxBufferedBytes bounds the memory the bodies of requests in flight hold: buffers grow
	// as bytes arrive, and a request that would take the total past it is refused with 429
	// and Retry-After. Default 32 MiB.
	MaxBufferedBytes int64
	// RequestReadTimeout bounds reading one request, headers and body, so that a client
	// sending slowly, or not at all, frees what it holds. Default 10 s.
	RequestReadTimeout time.Duration

	// ReloadInterval is how often the configuration and certificate files are checked even
	// when no change was seen; default 1 minute.
	ReloadInterval time.Duration
	// ShutdownDelay is how long the server keeps answering after it turned unready, so
	// that the API server stops sending it requests before it stops listening; default 0.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds waiting for requests in flight; default 25 s, inside the
	// default 30 s a pod is given to stop.
	ShutdownTimeout time.Duration

	// OnConfig, when set, is called with each configuration as it starts serving: the
	// first, and each reload. It runs on the reloading goroutine and must not block.
	OnConfig func(*config.Config)

	// Collectors are served on /metrics beside the server's own metrics, from the same
	// registry: what other parts of the process compute (the audit's gauges).
	Collectors []prometheus.Collector

	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.ListenAddress == "" {
		o.ListenAddress = ":8443"
	}
	if o.HealthAddress == "" {
		o.HealthAddress = ":8081"
	}
	if o.MetricsAddress == "" {
		o.MetricsAddress = ":8080"
	}
	if o.NativeSidecars == "" {
		o.NativeSidecars = "auto"
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = defaultMaxConnections
	}
	if o.MaxRequestsInFlight == 0 {
		o.MaxRequestsInFlight = defaultMaxRequestsInFlight
	}
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = defaultMaxBufferedBytes
	}
	if o.RequestReadTimeout == 0 {
		o.RequestReadTimeout = defaultRequestReadTimeout
	}
	if o.ReloadInterval == 0 {
		o.ReloadInterval = time.Minute
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 25 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.CertFile == "" || o.KeyFile == "" {
		errs = append(errs, errors.New("a serving certificate and key are required (--tls-cert-file, --tls-key-file)"))
	}
	if o.ConfigFile == "" && o.Config == nil {
		errs = append(errs, errors.New("a configuration is required: a file to load, or a loaded one"))
	}
	if o.ConfigFile != "" && o.Config != nil {
		errs = append(errs, errors.New("give a configuration file or a loaded configuration, not both"))
	}
	switch o.NativeSidecars {
	case "auto", "true", "false":
	default:
		errs = append(errs, fmt.Errorf("native sidecars must be auto, true or false, not %q", o.NativeSidecars))
	}
	if o.MaxConnections < 0 || o.MaxRequestsInFlight < 0 || o.MaxBufferedBytes < 0 {
		errs = append(errs, errors.New("the limits on connections, requests in flight and buffered bytes must not be negative"))
	}
	if o.MaxBufferedBytes > 0 && o.MaxBufferedBytes < MaxBodySize+1 {
		errs = append(errs, fmt.Errorf("the buffered bytes limit must hold at least one request of the largest size, %d bytes", MaxBodySize+1))
	}
	if o.ReloadInterval < 0 || o.ShutdownDelay < 0 || o.ShutdownTimeout < 0 || o.RequestReadTimeout < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	return errors.Join(errs...)
}
