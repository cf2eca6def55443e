package webhook

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// sidecarSkipped is a result of tandem_injections_total, beside resultInjected: a
// best-effort sidecar left out of a pod, with a warning.
const sidecarSkipped = "skipped"

// The result label of tandem_admission_requests_total.
const (
	resultInjected  = "injected"  // allowed with a patch
	resultUnchanged = "unchanged" // allowed as it is: not a pod CREATE, opted out, nothing asked
	resultDenied    = "denied"    // the engine refused the pod
	resultError     = "error"     // no admission decision: bad request, no config, panic
)

// metrics are the server's Prometheus metrics, in a registry of their own: nothing else in
// the process (client-go, controller-runtime) adds to what /metrics shows.
type metrics struct {
	registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	injections     *prometheus.CounterVec
	duration       prometheus.Histogram
	configReloads  *prometheus.CounterVec
	configLastGood prometheus.Gauge
	configInfo     *prometheus.GaugeVec // one series: the configuration serving now
	certExpiry     *prometheus.GaugeVec // by kind: serving, and ca when the server is told it
	// overloadRefusals counts requests answered 429 by the limit that refused them.
	overloadRefusals *prometheus.CounterVec
}

// newMetrics makes the server's metrics. caExpiry, when not nil, is asked at each scrape
// when the CA expires (zero: not known yet), for the kind="ca" series.
func newMetrics(caExpiry func() time.Time) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_admission_requests_total",
			Help: "Admission requests answered, by operation, result (injected, unchanged, denied, error) and reason (docs/annotations.md).",
		}, []string{"operation", "result", "reason"}),
		injections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_injections_total",
			Help: "Sidecars injected into pods, by sidecar and result.",
		}, []string{"sidecar", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tandem_admission_duration_seconds",
			Help: "Time from reading an admission request's headers to writing its response.",
			// Admission is expected in well under a millisecond; the API server gives up at 10 s
			// by default.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}),
		configReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_config_reloads_total",
			Help: "Loads of the configuration file, by result (success, failure). A failure keeps the last good configuration serving.",
		}, []string{"result"}),
		configLastGood: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tandem_config_last_reload_successful",
			Help: "1 if the last load of the configuration file succeeded, 0 if it failed.",
		}),
		configInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tandem_config_info",
			Help: "Always 1; its sha256 label is the SHA-256 of the configuration serving now, as sha256sum prints it for the file.",
		}, []string{"sha256"}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tandem_certificate_expiry_timestamp_seconds",
			Help: "When a certificate expires, in seconds since the Unix epoch: the serving certificate in use (kind=serving), and the CA when Tandem manages it (kind=ca).",
		}, []string{"kind"}),
		overloadRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_admission_overload_refusals_total",
			Help: "Connections closed or admission requests refused with 429 because the server was at a limit: connections (too many open), requests (too many in flight) or bytes (too many request bytes buffered).",
		}, []string{"limit"}),
	}
	m.registry.MustRegister(m.requests, m.injections, m.duration, m.configReloads, m.configLastGood, m.configInfo, m.overloadRefusals,
		expiryCollector{m.certExpiry, caExpiry},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// observeLimits shows how close the server is to its overload limits, read at each scrape.
func (m *metrics) observeLimits(l *admissionLimits) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tandem_admission_connections",
			Help: "Open connections to the admission port; past the limit (1024) new ones are closed at once.",
		}, func() float64 { return float64(l.conns.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tandem_admission_requests_in_flight",
			Help: "Admission requests being read or answered now; past the limit (256) more are refused with 429.",
		}, func() float64 { return float64(l.requests.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tandem_admission_buffered_bytes",
			Help: "Bytes of buffer the admission requests in flight hold for their bodies; a request that would take it past the limit (32 MiB) is refused with 429.",
		}, func() float64 { return float64(l.bytes.Load()) }),
	)
}

// observeAdmission records one answered request. operation comes from the request, so it
// is folded to the four Kubernetes operations to keep the label's values bounded.
func (m *metrics) observeAdmission(operation, result string, res *inject.Result, elapsed time.Duration) {
	// The reason is one of the engine's fixed constants: bounded, and never the request's bytes.
	m.requests.WithLabelValues(operationLabel(operation), result, string(res.Reason)).Inc()
	for _, name := range res.Injected {
		m.injections.WithLabelValues(name, resultInjected).Inc()
	}
	for _, name := range res.Skipped {
		m.injections.WithLabelValues(name, sidecarSkipped).Inc()
	}
	m.duration.Observe(elapsed.Seconds())
}

// operationLabel returns constants, never its argument: the request's strings alias a
// pooled body buffer, and a label value is kept by the metric for good.
func operationLabel(operation string) string {
	switch operation {
	case "CREATE":
		return "CREATE"
	case "UPDATE":
		return "UPDATE"
	case "DELETE":
		return "DELETE"
	case "CONNECT":
		return "CONNECT"
	}
	return "unknown"
}

// observeConfigReload records a load of the configuration file: cfg is what loaded, nil
// when it failed.
func (m *metrics) observeConfigReload(cfg *config.Config) {
	if cfg == nil {
		m.configReloads.WithLabelValues("failure").Inc()
		m.configLastGood.Set(0)
		return
	}
	m.configReloads.WithLabelValues("success").Inc()
	m.observeConfig(cfg)
}

// observeConfig records that cfg serves from now on.
func (m *metrics) observeConfig(cfg *config.Config) {
	m.configLastGood.Set(1)
	m.configInfo.Reset()
	m.configInfo.WithLabelValues(cfg.SHA256).Set(1)
}

// expiryCollector reads the CA's expiry when scraped: the CA is renewed by another
// component (selfcert), on its own schedule.
type expiryCollector struct {
	vec      *prometheus.GaugeVec
	caExpiry func() time.Time
}

func (c expiryCollector) Describe(ch chan<- *prometheus.Desc) { c.vec.Describe(ch) }

func (c expiryCollector) Collect(ch chan<- prometheus.Metric) {
	if c.caExpiry != nil {
		if t := c.caExpiry(); !t.IsZero() {
			c.vec.WithLabelValues("ca").Set(float64(t.Unix()))
		}
	}
	c.vec.Collect(ch)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
