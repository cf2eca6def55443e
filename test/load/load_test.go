package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tlsServer starts an HTTPS server on loopback that counts what it is sent.
func tlsServer(t *testing.T, h http.HandlerFunc) (addr string, hits *atomic.Int64) {
	hits = new(atomic.Int64)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "https://"), hits
}

// dialWorkers is what run does before the clock starts, without verifying the test
// server's certificate.
func dialWorkers(o options) ([]*worker, error) {
	data, err := os.ReadFile(o.file)
	if err != nil {
		return nil, err
	}
	return newWorkers(o, &tls.Config{InsecureSkipVerify: true}, buildRequest(o.addr, o.path, data))
}

func body(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "review.json")
	if err := os.WriteFile(f, []byte(`{"kind":"AdmissionReview"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoadSendsExactlyTheBudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
		h    http.HandlerFunc
	}{
		{"flat out, Content-Length", 0, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Length", "2")
			_, _ = w.Write([]byte("{}"))
		}},
		{"at a rate, chunked", 2000, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = w.Write([]byte("{"))
			w.(http.Flusher).Flush() // forces chunked encoding
			_, _ = w.Write([]byte("}"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, hits := tlsServer(t, tc.h)
			o := options{file: body(t), addr: addr, path: "/mutate", concurrency: 3, n: 57, rate: tc.rate, duration: time.Minute, format: "tsv"}
			workers, err := dialWorkers(o)
			if err != nil {
				t.Fatal(err)
			}
			res := runLoad(workers, o)
			if res.OK != 57 || res.Non200 != 0 || res.ConnErrors != 0 || hits.Load() != 57 {
				t.Fatalf("ok %d, non-200 %d, connection errors %d (%v), server saw %d; want 57 answered", res.OK, res.Non200, res.ConnErrors, res.LastError, hits.Load())
			}
			if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
				t.Fatalf("latencies out of order: p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
			}
		})
	}
}

func TestLoadCountsErrorStatuses(t *testing.T) {
	addr, _ := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "no", http.StatusBadRequest)
	})
	o := options{file: body(t), addr: addr, path: "/mutate", concurrency: 1, n: 5, duration: time.Minute}
	workers, err := dialWorkers(o)
	if err != nil {
		t.Fatal(err)
	}
	res := runLoad(workers, o)
	if res.OK != 0 || res.Non200 != 5 || !strings.Contains(res.LastError, "400") {
		t.Fatalf("ok %d, non-200 %d, last error %q; want 5 failures with status 400", res.OK, res.Non200, res.LastError)
	}
}

func TestLoadRefusesWhatIsNotLoopback(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:8443", "192.0.2.7:443", "[2001:db8::1]:8443"} {
		err := run(options{file: "x", addr: addr, concurrency: 1, duration: time.Second, format: "text"})
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("%s: got %v, want a refusal", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:8443", "[::1]:8443"} {
		if _, err := loopbackHost(addr); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
}

func TestLoadRejectsBadOptions(t *testing.T) {
	for _, o := range []options{
		{concurrency: 0, duration: time.Second, format: "text"},
		{concurrency: 1, duration: 0, format: "text"},
		{concurrency: 1, duration: time.Second, rate: -1, format: "text"},
		{concurrency: 1, duration: time.Second, format: "xml"},
		{concurrency: 1, duration: time.Second, format: "text", floodSlow: -1},
		{concurrency: 1, duration: time.Second, format: "text", floodHeaders: 1, floodLength: 0},
	} {
		o.addr = "127.0.0.1:1"
		if err := run(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestLoadMeasuresUnderAFloodItHoldsOpen(t *testing.T) {
	var flooding atomic.Int64
	addr, _ := tlsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 4<<20 { // a flooding request: read what comes, until the client goes
			flooding.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "2")
		_, _ = w.Write([]byte("{}"))
	})
	o := options{file: body(t), addr: addr, path: "/mutate", concurrency: 2, n: 20, duration: time.Minute, format: "tsv",
		floodHeaders: 3, floodSlow: 3, floodLength: 4 << 20}
	workers, err := dialWorkers(o)
	if err != nil {
		t.Fatal(err)
	}
	f := &flood{addr: o.addr, tls: &tls.Config{InsecureSkipVerify: true}, headerOnly: o.floodHeaders, slow: o.floodSlow, length: o.floodLength}
	if err := f.start(); err != nil {
		t.Fatal(err)
	}
	res := runLoad(workers, o)
	for deadline := time.Now().Add(30 * time.Second); flooding.Load() < 6 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the server reads the flood's headers in its own time
	}
	f.close()
	if res.OK != 20 || res.Non200 != 0 || res.ConnErrors != 0 {
		t.Fatalf("ok %d, non-200 %d, connection errors %d (%v); want 20 answered", res.OK, res.Non200, res.ConnErrors, res.LastError)
	}
	if n := flooding.Load(); n != 6 {
		t.Fatalf("the server saw %d flooding requests, want 6", n)
	}
}
