package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/tandem-io/tandem/internal/certs"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// testConfig is testdata/config.yaml: sidecars proxy (mandatory), logs (best effort) and
// vault (restricted to namespaces labelled team=platform).
func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// staticNamespaces knows the labels of the namespaces it holds; of others it knows
// nothing, as a server without a cluster.
type staticNamespaces map[string]map[string]string

func (s staticNamespaces) namespace(_ context.Context, name string) (inject.Namespace, error) {
	labels, ok := s[name]
	return inject.Namespace{Name: name, Labels: labels, LabelsKnown: ok}, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func jsonLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

func newTestHandler(t testing.TB, cfg *config.Config) *handler {
	t.Helper()
	h := &handler{
		config:     new(atomic.Pointer[config.Config]),
		namespaces: staticNamespaces{"default": {}, "platform": {"team": "platform"}},
		inject:     inject.Options{NativeSidecars: true},
		metrics:    newMetrics(nil),
		log:        discardLogger(),
	}
	defaults := Options{}
	defaults.setDefaults()
	h.limits = newAdmissionLimits(&defaults, h.metrics, h.log)
	h.config.Store(cfg)
	return h
}

// pod is a small pod in JSON: its annotations and labels, and its containers by name.
func pod(annotations, labels map[string]string, containers ...string) map[string]any {
	var cs []map[string]any
	for _, c := range containers {
		cs = append(cs, map[string]any{"name": c, "image": "example.com/" + c})
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"generateName": "web-", "namespace": "default", "annotations": annotations, "labels": labels},
		"spec":     map[string]any{"containers": cs},
	}
}

// post sends body to h as the API server would, and returns what h answered.
func post(h http.Handler, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func asks(sidecars string) map[string]string { return map[string]string{inject.InjectKey: sidecars} }

// reviewOf wraps an object into an AdmissionReview as an API server sends it, managed
// fields and old object included where they would be.
func reviewOf(apiVersion, operation string, kind, resource string, object any, mods ...func(req map[string]any)) []byte {
	req := map[string]any{
		"uid":       "705ab4f5-6393-11e8-b7cc-42010a800002",
		"kind":      map[string]any{"group": "", "version": "v1", "kind": kind},
		"resource":  map[string]any{"group": "", "version": "v1", "resource": resource},
		"namespace": "default",
		"operation": operation,
		"userInfo":  map[string]any{"username": "system:serviceaccount:kube-system:replicaset-controller"},
		"object":    object,
		"oldObject": nil,
		"dryRun":    false,
	}
	for _, mod := range mods {
		mod(req)
	}
	body, err := json.Marshal(map[string]any{"apiVersion": apiVersion, "kind": "AdmissionReview", "request": req})
	if err != nil {
		panic(err)
	}
	return body
}

func podReview(object any, mods ...func(req map[string]any)) []byte {
	return reviewOf(admissionV1, "CREATE", "Pod", "pods", object, mods...)
}

func inNamespace(ns string) func(map[string]any) {
	return func(req map[string]any) { req["namespace"] = ns }
}

// decodeReview reads a response body as the API server does.
func decodeReview(t testing.TB, body []byte) admissionv1.AdmissionReview {
	t.Helper()
	var out admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("the response is not an AdmissionReview: %v\n%s", err, body)
	}
	if out.Response == nil {
		t.Fatalf("the response has no response: %s", body)
	}
	return out
}

// requestObject returns request.object of a review body.
func requestObject(t testing.TB, body []byte) []byte {
	t.Helper()
	var in struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	return in.Request.Object
}

// secretVolume writes files the way the kubelet updates a Secret or ConfigMap volume: the
// files go to a new hidden directory, a `..data` symlink is atomically renamed to point at
// it, and each visible file is a symlink through `..data`; the old directory is removed.
type secretVolume struct {
	dir     string
	version int
	current string
}

func (v *secretVolume) path(name string) string { return filepath.Join(v.dir, name) }

func (v *secretVolume) write(t testing.TB, files map[string][]byte) {
	t.Helper()
	v.version++
	versioned := fmt.Sprintf("..2026_01_01_00_00_%02d.%d", v.version, v.version)
	if err := os.Mkdir(filepath.Join(v.dir, versioned), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(v.dir, versioned, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(versioned, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(v.dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v.current != "" {
		if err := os.RemoveAll(filepath.Join(v.dir, v.current)); err != nil {
			t.Fatal(err)
		}
	}
	v.current = versioned
}

// testPKI is a CA and the files of a serving certificate it signed for 127.0.0.1, kept
// in a Secret volume, or as plain files when plain is true.
type testPKI struct {
	ca      *certs.CA
	volume  *secretVolume
	plain   bool
	pool    *x509.CertPool
	current certs.KeyPair
}

func newTestPKI(t testing.TB, plain bool) *testPKI {
	t.Helper()
	ca, err := certs.NewCA("tandem-test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{ca: ca, volume: &secretVolume{dir: t.TempDir()}, plain: plain, pool: x509.NewCertPool()}
	p.pool.AppendCertsFromPEM(ca.CertPEM)
	p.rotate(t)
	return p
}

// rotate issues a new serving certificate and swaps it in, as a Secret volume update does
// or by replacing each file.
func (p *testPKI) rotate(t testing.TB) {
	t.Helper()
	pair, err := p.ca.Issue([]string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, pair)
	p.current = pair
}

func (p *testPKI) write(t testing.TB, pair certs.KeyPair) {
	t.Helper()
	if p.plain {
		if err := pair.WriteFiles(p.certFile(), p.keyFile()); err != nil {
			t.Fatal(err)
		}
		return
	}
	p.volume.write(t, map[string][]byte{"tls.crt": pair.CertPEM, "tls.key": pair.KeyPEM})
}

func (p *testPKI) certFile() string { return p.volume.path("tls.crt") }
func (p *testPKI) keyFile() string  { return p.volume.path("tls.key") }

// client trusts the test CA. Each request opens its own connection when fresh is true.
func (p *testPKI) client(fresh bool) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: fresh,
		},
	}
}

// clientWithCert is client(true) presenting pair as its client certificate.
func (p *testPKI) clientWithCert(t testing.TB, pair certs.KeyPair) *http.Client {
	t.Helper()
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	client := p.client(true)
	client.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	return client
}

// testServer is a Server running on 127.0.0.1 with free ports.
type testServer struct {
	*Server
	pki    *testPKI
	cancel context.CancelFunc
	done   chan error
}

// startServer runs a server with opts completed by a test PKI and loopback addresses;
// before, if not nil, is called between New and Run.
func startServer(t *testing.T, opts Options, before func(*Server)) *testServer {
	t.Helper()
	return startServerWith(t, newTestPKI(t, false), opts, before)
}

func startServerWith(t *testing.T, pki *testPKI, opts Options, before func(*Server)) *testServer {
	t.Helper()
	opts.CertFile, opts.KeyFile = pki.certFile(), pki.keyFile()
	opts.ListenAddress, opts.HealthAddress, opts.MetricsAddress = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	opts.NativeSidecars = "true"
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = time.Hour // only watching can see changes in time
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if before != nil {
		before(s)
	}
	ts := &testServer{Server: s, pki: pki, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Run(ctx) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down and returns what Run returned; later calls return nil.
func (ts *testServer) stop(t testing.TB) error {
	t.Helper()
	ts.cancel()
	select {
	case err, ok := <-ts.done:
		if ok {
			close(ts.done)
		}
		return err
	case <-time.After(time.Minute):
		t.Fatal("the server did not stop")
		return nil
	}
}

func (ts *testServer) url(path string) string { return "https://" + ts.Addrs().Webhook + path }

// admit POSTs an AdmissionReview and returns the HTTP status and body.
func (ts *testServer) admit(t testing.TB, client *http.Client, body []byte) (int, []byte) {
	t.Helper()
	status, out, err := ts.post(client, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

// post is admit for goroutines other than the test's, which must not call t.Fatal.
func (ts *testServer) post(client *http.Client, body []byte) (int, []byte, error) {
	resp, err := client.Post(ts.url("/mutate"), "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// get fetches a plain HTTP URL and returns status and body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// metric reads one sample from /metrics, e.g. `tandem_config_reloads_total{result="failure"}`;
// an absent sample reads as 0.
func (ts *testServer) metric(t testing.TB, sample string) float64 {
	t.Helper()
	v, ok := ts.metricIfPresent(t, sample)
	if !ok {
		t.Fatalf("/metrics has no sample %s", sample)
	}
	return v
}

// metricIfPresent is metric for a sample that may not exist yet, such as a counter whose
// label values have not been seen.
func (ts *testServer) metricIfPresent(t testing.TB, sample string) (float64, bool) {
	t.Helper()
	_, body := get(t, "http://"+ts.Addrs().Metrics+"/metrics")
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatal(err)
			}
			return v, true
		}
	}
	return 0, false
}

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually waits for cond, which watches something asynchronous (a file watch, a
// shutdown); it fails the test only if cond never holds, and asserts nothing on timing.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
