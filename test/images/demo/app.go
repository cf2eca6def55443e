package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// proxyFor picks the proxy of each request. A variable only so that tests, whose process
// environment Go reads once, can point the app at a proxy of their own.
var proxyFor = http.ProxyFromEnvironment

func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flags("app", stderr)
	listen := fs.String("listen", ":8080", "where to serve GET /hello")
	interval := fs.Duration("interval", 2*time.Second, "time between requests")
	requests := fs.Int("requests", 0, "exit after this many requests (0: run until SIGTERM)")
	logFile := fs.String("log-file", "/var/log/app/app.log", "append each request line here, if its directory exists")
	read := fs.String("read", "", "print the files of this directory at start")
	if !parse(fs, args) || *interval <= 0 || *requests < 0 {
		return 2
	}
	fmt.Fprint(stdout, startLine(os.Getenv("HTTP_PROXY"), time.Second))
	if *read != "" {
		readDir(stdout, *read)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "app:", err)
		return 1
	}
	srv := start(l, helloHandler())
	defer srv.stop()
	target, err := selfURL(l.Addr())
	if err != nil {
		fmt.Fprintln(stderr, "app:", err)
		return 1
	}
	a := &app{out: stdout, target: target, logFile: *logFile, client: &http.Client{
		Transport: &http.Transport{Proxy: proxyFor},
		Timeout:   5 * time.Second,
	}}
	return a.loop(ctx, *interval, *requests)
}

func helloHandler() http.Handler {
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+host)
	})
	return mux
}

// app requests its own /hello, through the proxy when the environment names one.
type app struct {
	out     io.Writer
	client  *http.Client
	target  string
	logFile string
	noted   bool // the note that logFile cannot be written is printed once
}

// loop sends requests until n are done (status 0 if all got 200) or ctx ends (status 0).
func (a *app) loop(ctx context.Context, interval time.Duration, n int) int {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	failed := false
	for i := 1; ; i++ {
		if !a.request(ctx, i) {
			failed = true
		}
		if i == n {
			break
		}
		select {
		case <-ctx.Done():
			return 0
		case <-ticker.C:
		}
	}
	if failed {
		return 1
	}
	return 0
}

func (a *app) request(ctx context.Context, n int) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.target, nil)
	if err != nil {
		panic(err) // a.target is built from an address: always a valid URL
	}
	via := "direct"
	if u, err := proxyFor(req); err != nil {
		via = "invalid HTTP_PROXY"
	} else if u != nil {
		via = u.String()
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.print(fmt.Sprintf(fmtRequestError, n, via, err))
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		a.print(fmt.Sprintf(fmtRequestError, n, via, err))
		return false
	}
	a.print(fmt.Sprintf(fmtRequest, n, via, resp.StatusCode, strings.TrimSpace(string(body))))
	return resp.StatusCode == http.StatusOK
}

// print writes line to stdout and appends it to the log file, for the log shipper.
func (a *app) print(line string) {
	fmt.Fprint(a.out, line)
	if a.logFile == "" {
		return
	}
	f, err := os.OpenFile(a.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteString(line)
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
	}
	if err != nil && !a.noted {
		a.noted = true
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err // the file is in the line already
		}
		fmt.Fprintf(a.out, fmtNotLogging, a.logFile, err)
	}
}

// selfURL is /hello at the first non-loopback IPv4 address and the listener's port.
func selfURL(addr net.Addr) (string, error) {
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", err
	}
	ip, err := ownIPv4()
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(ip.String(), port), Path: "/hello"}).String(), nil
}

func ownIPv4() (net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, addr := range addrs {
		if n, ok := addr.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.To4(), nil
		}
	}
	return nil, errors.New("no non-loopback IPv4 address to send requests to")
}
