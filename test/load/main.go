// Command load sends AdmissionReviews to a webhook on this machine and reports throughput,
// latency, errors and, given the server's PID, the server's CPU time per request and its
// peak RSS. It is Tandem's yardstick for docs/performance.md (hack/bench-server.sh runs it).
//
//	go run ./test/load -file testdata/bench/typical.admissionreview.json -addr 127.0.0.1:8443 -concurrency 2 -duration 10s -pid $PID
//	go run ./test/load -file ... -rate 1000 -n 20000
//
// It opens its connections first, then sends over HTTP/1.1 keep-alive, either flat out
// (each connection sends its next request as soon as the last is answered) or at a fixed
// rate spread over the connections. It stops after -n requests or -duration, whichever
// comes first. It is built not to be the bottleneck: the request is built once and every
// round trip is a Write and a buffered read, with nothing allocated.
//
// With -flood-headers and -flood-slow it first opens that many connections that attack
// the server's memory, and keeps them open while it measures: requests announcing a body
// of -flood-length bytes that send their headers and nothing, or the body a KiB at a
// time. What it then reports is the latency of ordinary reviews under the flood:
//
//	go run ./test/load -addr 127.0.0.1:8443 -flood-headers 64 -flood-slow 64 -rate 100 -n 2000 -concurrency 2
//
// It refuses targets that are not loopback addresses: it is a load generator, and its
// place is a benchmark on one machine.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

type options struct {
	file, addr, path, caFile string
	rate                     float64
	concurrency              int
	n                        int64
	duration                 time.Duration
	pid                      int
	format                   string
	floodHeaders, floodSlow  int
	floodLength              int
}

func main() {
	var o options
	flag.StringVar(&o.file, "file", "testdata/bench/typical.admissionreview.json", "request body: an AdmissionReview")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8443", "server host:port; loopback addresses only")
	flag.StringVar(&o.path, "path", "/mutate", "request path")
	flag.StringVar(&o.caFile, "ca", "", "CA to verify the server with (default: no verification)")
	flag.Float64Var(&o.rate, "rate", 0, "requests per second over all connections; 0 sends flat out")
	flag.IntVar(&o.concurrency, "concurrency", 2, "connections, each with one request in flight")
	flag.Int64Var(&o.n, "n", 0, "stop after this many requests (0: no limit)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "stop after this long, whatever -n says")
	flag.IntVar(&o.pid, "pid", 0, "server process to report CPU time per request and peak RSS of (Linux /proc)")
	flag.IntVar(&o.floodHeaders, "flood-headers", 0, "connections that send a request's headers and never its body, held while measuring")
	flag.IntVar(&o.floodSlow, "flood-slow", 0, "connections that send a request's body a KiB every 100 ms, held while measuring")
	flag.IntVar(&o.floodLength, "flood-length", 4<<20, "the Content-Length the flooding requests announce")
	flag.StringVar(&o.format, "format", "text", "text, json (one object) or tsv (one line: "+tsvHeader+")")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.concurrency < 1 || o.duration <= 0 || o.rate < 0 || o.n < 0 {
		return errors.New("-concurrency and -duration must be positive, -rate and -n not negative")
	}
	if o.floodHeaders < 0 || o.floodSlow < 0 || o.floodHeaders+o.floodSlow > 0 && o.floodLength < 1 {
		return errors.New("-flood-headers and -flood-slow must not be negative, -flood-length must be positive")
	}
	if o.format != "text" && o.format != "json" && o.format != "tsv" {
		return fmt.Errorf("-format must be text, json or tsv, not %q", o.format)
	}
	host, err := loopbackHost(o.addr)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(o.file)
	if err != nil {
		return err
	}
	tlsConfig, err := clientTLS(o.caFile, host)
	if err != nil {
		return err
	}
	workers, err := newWorkers(o, tlsConfig, buildRequest(o.addr, o.path, body))
	if err != nil {
		return err
	}
	if o.floodHeaders+o.floodSlow > 0 {
		f := &flood{addr: o.addr, tls: tlsConfig, headerOnly: o.floodHeaders, slow: o.floodSlow, length: o.floodLength}
		if err := f.start(); err != nil {
			return err
		}
		defer f.close()
		defer func() { fmt.Fprintln(os.Stderr, "flood:", f) }()
	}
	var cpuBefore time.Duration
	if o.pid != 0 {
		if cpuBefore, err = processCPU(o.pid); err != nil {
			return err
		}
	}
	selfBefore := selfCPU()
	res := runLoad(workers, o)
	res.LoadCPU = selfCPU() - selfBefore
	res.File, res.Bytes, res.Mode = filepath.Base(o.file), len(body), mode(o)
	if o.pid != 0 {
		cpuAfter, err := processCPU(o.pid)
		if err != nil {
			return err
		}
		res.ServerCPU = cpuAfter - cpuBefore
		if res.PeakRSS, err = peakRSS(o.pid); err != nil {
			return err
		}
	}
	res.print(os.Stdout, o.format)
	if res.OK == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

// newWorkers opens the connections before the clock starts.
func newWorkers(o options, tlsConfig *tls.Config, request []byte) ([]*worker, error) {
	workers := make([]*worker, o.concurrency)
	for i := range workers {
		workers[i] = &worker{conn: conn{addr: o.addr, tls: tlsConfig, request: request}}
		if err := workers[i].conn.dial(); err != nil {
			return nil, fmt.Errorf("connecting to %s: %w", o.addr, err)
		}
	}
	return workers, nil
}

func mode(o options) string {
	if o.rate > 0 {
		return fmt.Sprintf("%g/s over %d connections", o.rate, o.concurrency)
	}
	return fmt.Sprintf("flat out over %d connections", o.concurrency)
}

// loopbackHost refuses any address that is not this machine's loopback.
func loopbackHost(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if ips, err = net.LookupIP(host); err != nil {
			return "", err
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("%s is not a loopback address: this tool only loads servers on this machine", addr)
		}
	}
	return host, nil
}

func clientTLS(caFile, host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if caFile == "" {
		cfg.InsecureSkipVerify = true // loopback only, and it measures the server, not trust
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return cfg, nil
}
