package webhook

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// floodHeapBound is what a flood of 64 header-only and 64 slow-body requests may add to
// the heap of this test process (server and clients): the server's body buffers hold what
// has arrived, never what Content-Length announces. Measured: about 6 MiB.
const floodHeapBound = 24 << 20

// countEntered wraps the server's admission handler to count the requests it has begun.
func countEntered(entered *atomic.Int64) func(*Server) {
	return func(s *Server) {
		next := s.admission
		s.admission = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered.Add(1)
			next.ServeHTTP(w, r)
		})
	}
}

// openRequest opens a TLS connection and sends the headers of a POST /mutate announcing a
// body of length bytes, then nothing.
func openRequest(t *testing.T, ts *testServer, length int) *tls.Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", ts.Addrs().Webhook, &tls.Config{RootCAs: ts.pki.pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "POST /mutate HTTP/1.1\r\nHost: tandem\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", length); err != nil {
		t.Fatal(err)
	}
	return conn
}

// trickle sends a few bytes of body every 20 ms until stop is closed, as a slow sender.
func trickle(conn *tls.Conn, stop <-chan struct{}) {
	chunk := []byte(strings.Repeat(" ", 1024))
	for {
		select {
		case <-stop:
			return
		case <-time.After(20 * time.Millisecond):
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestServerHoldsItsHeapUnderAFloodAndStillAdmits(t *testing.T) {
	var entered atomic.Int64
	ts := startServer(t, Options{Config: testConfig(t)}, countEntered(&entered))
	client := ts.pki.client(false)
	if status, _ := ts.admit(t, client, podReview(pod(asks("proxy"), nil, "app"))); status != http.StatusOK {
		t.Fatalf("status %d before the flood", status)
	}
	before := liveHeap()

	const headerOnly, slow = 64, 64
	stop := make(chan struct{})
	var trickling sync.WaitGroup
	defer trickling.Wait()
	defer close(stop)
	for range headerOnly {
		openRequest(t, ts, MaxBodySize) // the largest body allowed, announced and never sent
	}
	for range slow {
		conn := openRequest(t, ts, MaxBodySize)
		trickling.Go(func() { trickle(conn, stop) })
	}
	eventually(t, "every flooding request being read", func() bool { return entered.Load() == 1+headerOnly+slow })

	status, body := ts.admit(t, client, podReview(pod(asks("proxy"), nil, "app")))
	if status != http.StatusOK {
		t.Fatalf("a review during the flood: status %d: %s", status, body)
	}
	if out := decodeReview(t, body); !out.Response.Allowed || !strings.Contains(string(out.Response.Patch), `"name":"proxy"`) {
		t.Fatalf("a review during the flood was not answered with its patch: %s", body)
	}
	during := liveHeap()
	if grown := int64(during) - int64(before); grown > floodHeapBound {
		t.Fatalf("the flood grew the heap by %.1f MiB, more than %d MiB", float64(grown)/(1<<20), floodHeapBound>>20)
	} else {
		t.Logf("the flood grew the heap by %.1f MiB", float64(grown)/(1<<20))
	}
}

func TestServerRefusesRequestsOverItsLimitsAtOnce(t *testing.T) {
	for name, tc := range map[string]struct {
		opts  Options
		flood func(t *testing.T, ts *testServer)
		limit string
	}{
		"requests in flight": {
			opts: Options{MaxRequestsInFlight: 2},
			flood: func(t *testing.T, ts *testServer) {
				openRequest(t, ts, 100)
				openRequest(t, ts, 100)
				eventually(t, "two requests in flight", func() bool { return ts.metric(t, "tandem_admission_requests_in_flight") == 2 })
			},
			limit: limitRequests,
		},
		"bytes buffered": {
			opts: Options{MaxBufferedBytes: MaxBodySize + 1},
			flood: func(t *testing.T, ts *testServer) {
				conn := openRequest(t, ts, MaxBodySize)
				if _, err := conn.Write(make([]byte, MaxBodySize*3/4)); err != nil {
					t.Fatal(err)
				}
				eventually(t, "a body buffer taking the whole budget", func() bool {
					return ts.metric(t, "tandem_admission_buffered_bytes") >= MaxBodySize
				})
			},
			limit: limitBytes,
		},
	} {
		t.Run(name, func(t *testing.T) {
			tc.opts.Config = testConfig(t)
			ts := startServer(t, tc.opts, nil)
			tc.flood(t, ts)
			resp, err := ts.pki.client(true).Post(ts.url("/mutate"), "application/json", strings.NewReader(string(podReview(pod(asks("proxy"), nil, "app")))))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != retryAfter {
				t.Fatalf("status %d, Retry-After %q; want 429 and %s", resp.StatusCode, resp.Header.Get("Retry-After"), retryAfter)
			}
			if n := ts.metric(t, `tandem_admission_overload_refusals_total{limit="`+tc.limit+`"}`); n != 1 {
				t.Fatalf("%g refusals counted for limit %s, want 1", n, tc.limit)
			}
		})
	}
}

func TestServerFreesWhatASlowSenderHolds(t *testing.T) {
	for name, sent := range map[string]int{"headers only": 0, "part of the body": 100 << 10} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, Options{Config: testConfig(t), RequestReadTimeout: 200 * time.Millisecond}, nil)
			conn := openRequest(t, ts, MaxBodySize)
			if _, err := conn.Write(make([]byte, sent)); err != nil {
				t.Fatal(err)
			}
			// The server gives up on the request and says so (or just closes the connection).
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Fatalf("an unfinished request was answered %d", resp.StatusCode)
				}
			}
			eventually(t, "nothing held for the slow sender", func() bool {
				return ts.metric(t, "tandem_admission_requests_in_flight") == 0 && ts.metric(t, "tandem_admission_buffered_bytes") == 0
			})
		})
	}
}

func TestServerClosesConnectionsOverItsLimitAtOnce(t *testing.T) {
	ts := startServer(t, Options{Config: testConfig(t), MaxConnections: 2}, nil)
	dial := func() (*tls.Conn, error) {
		return tls.Dial("tcp", ts.Addrs().Webhook, &tls.Config{RootCAs: ts.pki.pool, MinVersion: tls.VersionTLS12})
	}
	var held []*tls.Conn
	for range 2 {
		conn, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		held = append(held, conn)
	}
	if conn, err := dial(); err == nil {
		conn.Close()
		t.Fatal("a third connection was served")
	}
	if n := ts.metric(t, `tandem_admission_overload_refusals_total{limit="connections"}`); n != 1 {
		t.Fatalf("%g connection refusals counted, want 1", n)
	}
	held[0].Close()
	eventually(t, "a connection accepted once another has closed", func() bool {
		conn, err := dial()
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}
