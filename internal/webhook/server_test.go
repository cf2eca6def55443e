package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"github.com/tandem-io/tandem/internal/config"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-io/tandem/internal/certs"
)

func TestServerAdmitsOverTLSWithHealthAndMetrics(t *testing.T) {
	ts := startServer(t, Options{Config: testConfig(t)}, nil)
	status, body := ts.admit(t, ts.pki.client(false), podReview(pod(asks("proxy"), nil, "app")))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if out := decodeReview(t, body); !out.Response.Allowed || out.Response.Patch == nil {
		t.Fatalf("the pod was not injected: %s", body)
	}
	addrs := ts.Addrs()
	for _, url := range []string{"http://" + addrs.Health + "/healthz", "http://" + addrs.Health + "/readyz"} {
		if status, body := get(t, url); status != http.StatusOK {
			t.Errorf("%s: %d %s", url, status, body)
		}
	}
	if got := ts.metric(t, `tandem_admission_requests_total{operation="CREATE",reason="Injected",result="injected"}`); got != 1 {
		t.Errorf("injected requests = %v, want 1", got)
	}
	if got, want := ts.metric(t, `tandem_certificate_expiry_timestamp_seconds{kind="serving"}`), notAfter(t, ts.pki.current.CertPEM); got != float64(want.Unix()) {
		t.Errorf("certificate expiry metric %v, want %v", got, want.Unix())
	}
	if _, body := get(t, "http://"+addrs.Metrics+"/metrics"); !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_cpu_seconds_total") {
		t.Error("/metrics lacks the Go and process collectors")
	}
}

func TestServerSpeaksHTTP2OnlyWhenEnabled(t *testing.T) {
	for name, enable := range map[string]bool{"HTTP/1.1 by default": false, "HTTP/2 when enabled": true} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, Options{Config: testConfig(t), EnableHTTP2: enable}, nil)
			client := ts.pki.client(false)
			client.Transport.(*http.Transport).ForceAttemptHTTP2 = true
			resp, err := client.Post(ts.url("/mutate"), "application/json", bytes.NewReader(podReview(pod(nil, nil, "app"))))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.ProtoMajor == 2; got != enable {
				t.Errorf("protocol %s with --enable-http2=%v", resp.Proto, enable)
			}
		})
	}
}

func TestServerServesARotatedCertificateWithoutRestart(t *testing.T) {
	for name, plain := range map[string]bool{"a Secret volume's ..data symlink swap": false, "files replaced in place": true} {
		t.Run(name, func(t *testing.T) {
			logs := &syncBuffer{}
			pki := newTestPKI(t, plain)
			ts := startServerWith(t, pki, Options{Config: testConfig(t), Logger: jsonLogger(logs)}, nil)
			first := servedSerial(t, ts)
			if first != serial(t, pki.current.CertPEM) {
				t.Fatal("the server does not serve the certificate it was given")
			}

			pki.rotate(t)
			want := serial(t, pki.current.CertPEM)
			eventually(t, "the rotated certificate is served", func() bool { return servedSerial(t, ts) == want })

			// A pair that does not match is refused, and the current certificate stays.
			other, err := pki.ca.Issue([]string{"127.0.0.1"}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			pki.write(t, certs.KeyPair{CertPEM: other.CertPEM, KeyPEM: pki.current.KeyPEM})
			eventually(t, "the mismatched pair is rejected", func() bool { return strings.Contains(logs.String(), "certificate rejected") })
			if servedSerial(t, ts) != want {
				t.Error("a mismatched pair replaced the certificate being served")
			}
		})
	}
}

// servedSerial opens a new connection and returns the serial of the certificate served.
func servedSerial(t *testing.T, ts *testServer) string {
	t.Helper()
	conn, err := tls.Dial("tcp", ts.Addrs().Webhook, &tls.Config{RootCAs: ts.pki.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func serial(t *testing.T, certPEM []byte) string { return parseCert(t, certPEM).SerialNumber.String() }

func notAfter(t *testing.T, certPEM []byte) time.Time { return parseCert(t, certPEM).NotAfter }

// configWithExtra is testdata/config.yaml with one more sidecar, extra.
func configWithExtra(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return append(data, "  - name: extra\n    containers:\n      - name: extra\n        image: example.com/extra:1\n"...)
}

func TestServerKeepsTheLastGoodConfigAndTakesTheNextGoodOne(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	volume := &secretVolume{dir: t.TempDir()}
	volume.write(t, map[string][]byte{"config.yaml": good})
	var mu sync.Mutex
	var announced []string // what OnConfig was told, in order
	onConfig := func(cfg *config.Config) {
		mu.Lock()
		defer mu.Unlock()
		announced = append(announced, cfg.SHA256)
	}
	ts := startServer(t, Options{ConfigFile: volume.path("config.yaml"), OnConfig: onConfig}, nil)
	client := ts.pki.client(false)
	injected := func(sidecar string) bool {
		status, body := ts.admit(t, client, podReview(pod(asks(sidecar), nil, "app")))
		return status == http.StatusOK && decodeReview(t, body).Response.Patch != nil
	}
	if !injected("proxy") {
		t.Fatal("the first configuration does not serve")
	}
	servingIs := func(data []byte) {
		t.Helper()
		sum := sha256.Sum256(data)
		if got, _ := ts.metricIfPresent(t, `tandem_config_info{sha256="`+hex.EncodeToString(sum[:])+`"}`); got != 1 {
			t.Errorf("tandem_config_info does not name the SHA-256 of the configuration serving")
		}
	}
	servingIs(good)

	volume.write(t, map[string][]byte{"config.yaml": []byte("sidecars:\n  - name: broken\n    containers: 42\n")})
	eventually(t, "the broken configuration is counted as a failed reload", func() bool {
		v, _ := ts.metricIfPresent(t, `tandem_config_reloads_total{result="failure"}`)
		return v == 1
	})
	if !injected("proxy") {
		t.Error("the last good configuration stopped serving after a broken one")
	}
	if got := ts.metric(t, "tandem_config_last_reload_successful"); got != 0 {
		t.Errorf("tandem_config_last_reload_successful = %v after a failure", got)
	}
	servingIs(good)
	if status, _ := get(t, "http://"+ts.Addrs().Health+"/readyz"); status != http.StatusOK {
		t.Errorf("readyz %d: a broken reload must not make the server unready while a good config serves", status)
	}

	volume.write(t, map[string][]byte{"config.yaml": configWithExtra(t)})
	eventually(t, "the next good configuration is taken", func() bool { return injected("extra") })
	if got := ts.metric(t, `tandem_config_reloads_total{result="success"}`); got != 2 {
		t.Errorf("successful reloads = %v, want 2 (the first load and the fix)", got)
	}
	servingIs(configWithExtra(t))
	sum := sha256.Sum256(good)
	if _, found := ts.metricIfPresent(t, `tandem_config_info{sha256="`+hex.EncodeToString(sum[:])+`"}`); found {
		t.Error("tandem_config_info still has a series for the configuration replaced")
	}
	next := sha256.Sum256(configWithExtra(t))
	mu.Lock()
	defer mu.Unlock()
	if want := []string{hex.EncodeToString(sum[:]), hex.EncodeToString(next[:])}; !slices.Equal(announced, want) {
		t.Errorf("OnConfig was told %v, want the two good configurations %v", announced, want)
	}
}

func TestServerIsUnreadyUntilAConfigLoads(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("sidecars: [{}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Options{ConfigFile: file}, nil)
	readyz := "http://" + ts.Addrs().Health + "/readyz"
	if status, body := get(t, readyz); status != http.StatusServiceUnavailable || !strings.Contains(body, "configuration") {
		t.Fatalf("readyz %d %q with an invalid configuration, want 503 naming the configuration", status, body)
	}
	if status, _ := ts.admit(t, ts.pki.client(false), podReview(pod(asks("proxy"), nil, "app"))); status != http.StatusServiceUnavailable {
		t.Errorf("admission without a configuration: status %d, want 503", status)
	}
	good, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := certs.WriteFile(file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ready once the file is fixed", func() bool { status, _ := get(t, readyz); return status == http.StatusOK })
}

func TestServerFinishesRequestsInFlightOnShutdown(t *testing.T) {
	const inFlight = 5
	entered, release := make(chan struct{}, inFlight), make(chan struct{})
	gate := func(s *Server) {
		next := s.admission
		s.admission = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
			next.ServeHTTP(w, r)
		})
	}
	ts := startServer(t, Options{Config: testConfig(t)}, gate)
	client := ts.pki.client(true)

	var wg sync.WaitGroup
	statuses := make([]int, inFlight)
	bodies := make([][]byte, inFlight)
	errs := make([]error, inFlight)
	for i := range inFlight {
		wg.Go(func() { statuses[i], bodies[i], errs[i] = ts.post(client, podReview(pod(asks("proxy"), nil, "app"))) })
	}
	for range inFlight {
		<-entered
	}
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop(t) }()

	readyz := "http://" + ts.Addrs().Health + "/readyz"
	eventually(t, "unready while shutting down", func() bool {
		status, body := get(t, readyz)
		return status == http.StatusServiceUnavailable && strings.Contains(body, "shutting down")
	})
	eventually(t, "new connections refused", func() bool {
		conn, err := net.Dial("tcp", ts.Addrs().Webhook)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	close(release)
	wg.Wait()
	for i := range inFlight {
		if errs[i] != nil || statuses[i] != http.StatusOK {
			t.Errorf("request %d in flight: status %d %s, error %v", i, statuses[i], bodies[i], errs[i])
			continue
		}
		if out := decodeReview(t, bodies[i]); out.Response.Patch == nil {
			t.Errorf("request %d in flight was answered without its patch", i)
		}
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run returned %v after a clean shutdown", err)
	}
}

func TestServerRequiresAClientCertificateWhenGivenAClientCA(t *testing.T) {
	clientCA, err := certs.NewCA("api-server-clients", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	if err := certs.WriteFile(caFile, clientCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Options{Config: testConfig(t), ClientCAFile: caFile}, nil)
	trusted, err := clientCA.IssueClient("kube-apiserver", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := certs.NewCA("someone-else", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := stranger.IssueClient("kube-apiserver", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		pair   *certs.KeyPair
		admits bool
	}{
		"a client certificate from the CA is admitted": {pair: &trusted, admits: true},
		"no client certificate is refused":             {pair: nil},
		"a certificate from another CA is refused":     {pair: &untrusted},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := ts.pki.client(true)
			if tc.pair != nil {
				client = ts.pki.clientWithCert(t, *tc.pair)
			}
			resp, err := client.Post(ts.url("/mutate"), "application/json", bytes.NewReader(podReview(pod(nil, nil, "app"))))
			if err == nil {
				resp.Body.Close()
			}
			if admitted := err == nil && resp.StatusCode == http.StatusOK; admitted != tc.admits {
				t.Errorf("admitted = %v (err %v), want %v", admitted, err, tc.admits)
			}
		})
	}
}

// TestServerReloadsTheClientCA rotates the client CA file under a running server: clients
// of the new CA get in, clients of the old one no longer do, and a broken file leaves the
// new CA in force.
func TestServerReloadsTheClientCA(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	oldCA, err := certs.NewCA("clients-2025", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	newCA, err := certs.NewCA("clients-2026", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := certs.WriteFile(caFile, oldCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ts := startServer(t, Options{Config: testConfig(t), ClientCAFile: caFile, Logger: jsonLogger(logs)}, nil)
	admits := func(ca *certs.CA) func() bool {
		pair, err := ca.IssueClient("kube-apiserver", nil, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		client := ts.pki.clientWithCert(t, pair) // a new connection, so a new handshake, each time
		return func() bool {
			resp, err := client.Post(ts.url("/mutate"), "application/json", bytes.NewReader(podReview(pod(nil, nil, "app"))))
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
	}
	oldClient, newClient := admits(oldCA), admits(newCA)
	if !oldClient() || newClient() {
		t.Fatal("before the rotation, only the old CA's clients must get in")
	}
	if err := certs.WriteFile(caFile, newCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new CA's client is admitted", newClient)
	if oldClient() {
		t.Fatal("after the rotation, the old CA's client still gets in")
	}
	if err := certs.WriteFile(caFile, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broken file is rejected", func() bool { return strings.Contains(logs.String(), "client CA rejected") })
	if !newClient() || oldClient() {
		t.Fatal("a broken client CA file changed which clients get in")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	pki := newTestPKI(t, false)
	base := func() Options {
		return Options{
			Config: testConfig(t), CertFile: pki.certFile(), KeyFile: pki.keyFile(), Logger: discardLogger(),
			ListenAddress: "127.0.0.1:0", HealthAddress: "127.0.0.1:0", MetricsAddress: "127.0.0.1:0",
		}
	}
	tests := map[string]struct {
		change func(*Options)
		want   string
	}{
		"no certificate":                    {func(o *Options) { o.CertFile = "" }, "certificate and key are required"},
		"a certificate file that is absent": {func(o *Options) { o.CertFile = filepath.Join(t.TempDir(), "none") }, "no such file"},
		"a key that is not a key":           {func(o *Options) { o.KeyFile = pki.certFile() }, "serving certificate"},
		"no configuration":                  {func(o *Options) { o.Config = nil }, "configuration is required"},
		"a file and a loaded configuration": {func(o *Options) { o.ConfigFile = "x.yaml" }, "not both"},
		"an unknown native sidecars mode":   {func(o *Options) { o.NativeSidecars = "maybe" }, `not "maybe"`},
		"a client CA that is not PEM":       {func(o *Options) { o.ClientCAFile = filepath.Join("testdata", "config.yaml") }, "no PEM certificate"},
		"an address taken twice": {func(o *Options) {
			o.HealthAddress = "127.0.0.1:" + strconv.Itoa(freePort(t))
			o.MetricsAddress = o.HealthAddress
		}, "address already in use"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			opts := base()
			tc.change(&opts)
			s, err := New(context.Background(), opts)
			if err == nil {
				for _, ln := range []net.Listener{s.webhookLn, s.healthLn, s.metricsLn} {
					ln.Close()
				}
				t.Fatal("New accepted the options")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// When Tandem manages its CA, the CA's expiry is a series of the certificate metric;
// otherwise there is no such series to alert on wrongly.
func TestTheCAsExpiryIsAMetricOnlyWhenKnown(t *testing.T) {
	expiry := time.Unix(1_900_000_000, 0)
	ts := startServer(t, Options{Config: testConfig(t), CAExpiry: func() time.Time { return expiry }}, nil)
	if got := ts.metric(t, `tandem_certificate_expiry_timestamp_seconds{kind="ca"}`); got != float64(expiry.Unix()) {
		t.Errorf("CA expiry metric %v, want %v", got, expiry.Unix())
	}
	plain := startServer(t, Options{Config: testConfig(t)}, nil)
	if v, ok := plain.metricIfPresent(t, `tandem_certificate_expiry_timestamp_seconds{kind="ca"}`); ok {
		t.Errorf("a server with files only reports a CA expiry: %v", v)
	}
}
