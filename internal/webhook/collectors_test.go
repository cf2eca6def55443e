package webhook

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors given in Options are served on /metrics beside the server's own.
func TestServerServesExtraCollectors(t *testing.T) {
	extra := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_test_extra", Help: "A collector of another component."})
	extra.Set(42)
	ts := startServer(t, Options{Config: testConfig(t), Collectors: []prometheus.Collector{extra}}, nil)
	if got := ts.metric(t, "tandem_test_extra"); got != 42 {
		t.Errorf("tandem_test_extra = %v, want 42", got)
	}
	if got := ts.metric(t, "tandem_config_last_reload_successful"); got != 1 {
		t.Errorf("the server's own metrics are gone: tandem_config_last_reload_successful = %v", got)
	}
}

// A collector whose metrics clash with the server's fails New, instead of a panic or a
// /metrics that errors at every scrape.
func TestServerRefusesACollectorThatClashes(t *testing.T) {
	clash := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_config_last_reload_successful", Help: "a second one"})
	pki := newTestPKI(t, false)
	_, err := New(context.Background(), Options{
		Config: testConfig(t), CertFile: pki.certFile(), KeyFile: pki.keyFile(), NativeSidecars: "true",
		ListenAddress: "127.0.0.1:0", HealthAddress: "127.0.0.1:0", MetricsAddress: "127.0.0.1:0",
		Logger: discardLogger(), Collectors: []prometheus.Collector{clash},
	})
	if err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("New accepted a collector that clashes with the server's metrics: %v", err)
	}
}
