package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// Server is Tandem's admission webhook: admission on HTTPS, health and metrics on HTTP.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	config  atomic.Pointer[config.Config]
	// reloader keeps config current from opts.ConfigFile; nil when the config is not a file.
	reloader *configReloader
	certs    *certReloader
	clientCA *clientCAReloader // nil without --client-ca-file
	tls      *tls.Config
	// nsCache is nil without a cluster.
	nsCache  *namespaceCache
	stopping atomic.Bool
	// admission answers POST /mutate; tests wrap it before Run.
	admission http.Handler
	limits    *admissionLimits

	webhookLn, healthLn, metricsLn net.Listener
}

// Run serves until ctx is done, then shuts down gracefully (Server.Run).
func Run(ctx context.Context, opts Options) error {
	s, err := New(ctx, opts)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// New prepares a server: it loads the certificate and the configuration, asks the cluster
// what it needs, and opens the listeners, so Addrs is known before Run. An invalid
// configuration file does not fail New: the server starts unready and takes the file as
// soon as it is fixed.
func New(ctx context.Context, opts Options) (*Server, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: newMetrics(opts.CAExpiry)}
	for _, c := range opts.Collectors {
		if err := s.metrics.registry.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	s.certs = &certReloader{certFile: opts.CertFile, keyFile: opts.KeyFile, metrics: s.metrics, log: s.log}
	if err := s.certs.reload(); err != nil {
		return nil, err
	}
	tlsConfig, clientCA, err := serverTLS(s.certs, opts.ClientCAFile, opts.EnableHTTP2, s.log)
	if err != nil {
		return nil, err
	}
	s.clientCA = clientCA
	s.tls = tlsConfig
	if opts.ConfigFile != "" {
		s.reloader = &configReloader{path: opts.ConfigFile, onConfig: opts.OnConfig, current: &s.config, metrics: s.metrics, log: s.log}
		s.reloader.reload()
	} else {
		s.config.Store(opts.Config)
		s.metrics.observeConfig(opts.Config)
		if opts.OnConfig != nil {
			opts.OnConfig(opts.Config)
		}
		s.log.Info("configuration loaded; it is not a file, so it is never reloaded", "source", opts.Config.Source, "sha256", opts.Config.SHA256, "sidecars", opts.Config.Names())
	}
	namespaces, native, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	s.limits = newAdmissionLimits(&opts, s.metrics, s.log)
	s.metrics.observeLimits(s.limits)
	s.admission = &handler{
		config: &s.config, namespaces: namespaces, inject: inject.Options{NativeSidecars: native},
		metrics: s.metrics, log: s.log, limits: s.limits,
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	return s, nil
}

// connect sets up what Tandem reads from the cluster, or says it runs without one.
func (s *Server) connect(ctx context.Context) (namespaceSource, bool, error) {
	native, err := detectNativeSidecars(ctx, s.opts.NativeSidecars, s.opts.Cluster)
	if err != nil {
		return nil, false, err
	}
	if s.opts.Cluster == nil {
		s.log.Warn("no cluster (no --kubeconfig, not in a pod): namespace labels are unknown, so namespace defaults do not apply and namespace-restricted sidecars are denied",
			"nativeSidecars", native)
		return noCluster{}, native, nil
	}
	s.nsCache, err = newNamespaceCacheForConfig(s.opts.Cluster, s.log)
	if err != nil {
		return nil, false, err
	}
	s.log.Info("cluster connected", "host", s.opts.Cluster.Host, "nativeSidecars", native)
	return s.nsCache, native, nil
}

func (s *Server) listen() error {
	var err error
	listen := func(addr string) net.Listener {
		ln, e := net.Listen("tcp", addr)
		err = errors.Join(err, e)
		return ln
	}
	s.webhookLn = listen(s.opts.ListenAddress)
	s.healthLn = listen(s.opts.HealthAddress)
	s.metricsLn = listen(s.opts.MetricsAddress)
	if err != nil {
		for _, ln := range []net.Listener{s.webhookLn, s.healthLn, s.metricsLn} {
			if ln != nil {
				ln.Close()
			}
		}
	}
	return err
}

// Addrs are the addresses the server listens on, with the ports actually chosen.
type Addrs struct{ Webhook, Health, Metrics string }

func (s *Server) Addrs() Addrs {
	return Addrs{Webhook: s.webhookLn.Addr().String(), Health: s.healthLn.Addr().String(), Metrics: s.metricsLn.Addr().String()}
}

// Run serves until ctx is done or a listener fails, then shuts down: it turns unready,
// waits ShutdownDelay, lets requests in flight finish (ShutdownTimeout at most), and
// returns. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopBackground()
	if s.reloader != nil {
		wg.Go(func() {
			watchFiles(background, s.log, []string{s.opts.ConfigFile}, s.opts.ReloadInterval, s.reloader.reload)
		})
	}
	wg.Go(func() {
		watchFiles(background, s.log, []string{s.opts.CertFile, s.opts.KeyFile}, s.opts.ReloadInterval, func() { _ = s.certs.reload() })
	})
	if s.clientCA != nil {
		wg.Go(func() {
			watchFiles(background, s.log, []string{s.opts.ClientCAFile}, s.opts.ReloadInterval, func() { _ = s.clientCA.reload() })
		})
	}
	if s.nsCache != nil {
		wg.Go(func() { s.nsCache.run(background) })
	}

	webhook, health, metrics := s.servers()
	errc := make(chan error, 3)
	serve := func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	go serve(webhook, tls.NewListener(connLimitListener{s.webhookLn, s.limits}, s.tls))
	go serve(health, s.healthLn)
	go serve(metrics, s.metricsLn)
	addrs := s.Addrs()
	s.log.Info("serving", "admission", "https://"+addrs.Webhook+"/mutate", "health", "http://"+addrs.Health+"/readyz",
		"metrics", "http://"+addrs.Metrics+"/metrics", "http2", s.opts.EnableHTTP2, "clientCA", s.opts.ClientCAFile)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		s.log.Error("a listener failed; shutting down", "error", err.Error())
	}
	return errors.Join(err, s.shutdown(webhook, health, metrics))
}

// shutdown stops the servers: the webhook first, so that /readyz keeps saying "not ready"
// while the last admissions finish.
func (s *Server) shutdown(webhook, health, metrics *http.Server) error {
	s.stopping.Store(true)
	s.log.Info("shutting down: unready now, finishing requests in flight",
		"delay", s.opts.ShutdownDelay.String(), "timeout", s.opts.ShutdownTimeout.String())
	time.Sleep(s.opts.ShutdownDelay)
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := webhook.Shutdown(ctx)
	if err != nil {
		err = fmt.Errorf("requests still in flight after %s: %w", s.opts.ShutdownTimeout, err)
	}
	err = errors.Join(err, health.Shutdown(ctx), metrics.Shutdown(ctx))
	s.log.Info("shut down")
	return err
}

// Timeouts of the servers. The API server waits 10 s for a webhook by default and 30 s
// at most, and keeps connections open between calls. The admission server reads a request
// within Options.RequestReadTimeout (limits.go); the health and metrics servers, which
// hold no request bodies, keep these.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
)

func (s *Server) servers() (webhook, health, metrics *http.Server) {
	mux := http.NewServeMux()
	mux.Handle("/mutate", s.admission)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(s.opts.EnableHTTP2)
	webhook = &http.Server{
		Handler:   mux,
		Protocols: &protocols,
		// Both from the request's first byte: what a slow sender holds is freed by then.
		ReadHeaderTimeout: s.opts.RequestReadTimeout,
		ReadTimeout:       s.opts.RequestReadTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		// TLS handshake failures land here: worth seeing, since a wrong caBundle shows
		// up as nothing else on this side.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	plain := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
			WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, ErrorLog: webhook.ErrorLog}
	}
	return webhook, plain(s.healthHandler()), plain(s.metricsHandler())
}
