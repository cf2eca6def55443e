package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartLine(t *testing.T) {
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	for httpProxy, want := range map[string]string{
		"":                                 "app: proxy reachable at start: no (HTTP_PROXY not set)\n",
		"http://" + open.Addr().String():   "app: proxy reachable at start: yes\n",
		open.Addr().String():               "app: proxy reachable at start: yes\n",
		"http://" + closed.Addr().String(): "app: proxy reachable at start: no (dial tcp " + closed.Addr().String() + ": connect: connection refused)\n",
		"http://:15001":                    "app: proxy reachable at start: no (HTTP_PROXY \"http://:15001\" names no host)\n",
	} {
		if got := startLine(httpProxy, time.Second); got != want {
			t.Errorf("HTTP_PROXY=%q: %q, want %q", httpProxy, got, want)
		}
	}
}

func TestProxyAddressDefaultsLikeGo(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:15001": "127.0.0.1:15001",
		"127.0.0.1:15001":        "127.0.0.1:15001",
		"http://proxy.local":     "proxy.local:80",
		"https://proxy.local":    "proxy.local:443",
		"http://[::1]:3128/":     "[::1]:3128",
	} {
		if got, err := proxyAddress(in); got != want || err != nil {
			t.Errorf("proxyAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestReadDirPrintsRegularFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"b-token": "  s3cr3t\n", "a-user": "app"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "..data"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Kubernetes projects Secret and ConfigMap keys as symbolic links.
	if err := os.Symlink("b-token", filepath.Join(dir, "c-link")); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	readDir(&out, dir)
	want := "app: read " + dir + "/a-user: app\n" +
		"app: read " + dir + "/b-token: s3cr3t\n" +
		"app: read " + dir + "/c-link: s3cr3t\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	missing := filepath.Join(dir, "missing")
	var errOut syncBuffer
	readDir(&errOut, missing)
	if want := "app: read " + missing + ": open " + missing + ": no such file or directory\n"; errOut.String() != want {
		t.Errorf("printed %q, want %q", errOut.String(), want)
	}
}

// withProxy makes the app send its requests through proxyURL ("" for none).
func withProxy(t *testing.T, proxyURL string) {
	t.Helper()
	saved := proxyFor
	t.Cleanup(func() { proxyFor = saved })
	proxyFor = func(*http.Request) (*url.URL, error) { return nil, nil }
	if proxyURL != "" {
		u, err := url.Parse(proxyURL)
		if err != nil {
			t.Fatal(err)
		}
		proxyFor = http.ProxyURL(u)
	}
}

func newApp(out *syncBuffer, target, logFile string) *app {
	return &app{out: out, target: target, logFile: logFile, client: &http.Client{Transport: &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) { return proxyFor(r) },
	}}}
}

func TestAppRequestsThroughTheProxyAndLogs(t *testing.T) {
	hello := httptest.NewServer(helloHandler())
	defer hello.Close()
	var proxyOut syncBuffer
	proxy := httptest.NewServer(proxyHandler(&proxyOut, directTransport()))
	defer proxy.Close()
	withProxy(t, proxy.URL)
	logFile := filepath.Join(t.TempDir(), "app.log")
	var out syncBuffer
	if code := newApp(&out, hello.URL+"/hello", logFile).loop(context.Background(), time.Millisecond, 2); code != 0 {
		t.Errorf("exit %d after two good requests, want 0", code)
	}
	host, _ := os.Hostname()
	want := "app: request 1 via " + proxy.URL + ": 200 hello from " + host + "\n" +
		"app: request 2 via " + proxy.URL + ": 200 hello from " + host + "\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	if logged, err := os.ReadFile(logFile); string(logged) != want {
		t.Errorf("log file holds %q (%v), want the same lines", logged, err)
	}
	if n := strings.Count(proxyOut.String(), "proxy: GET "+hello.URL+"/hello -> 200\n"); n != 2 {
		t.Errorf("proxy printed %q, want two forwarded requests", proxyOut.String())
	}
}

func TestAppFailsAndNotesTheMissingLogDirectoryOnce(t *testing.T) {
	withProxy(t, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := "http://" + l.Addr().String() + "/hello"
	l.Close()
	logFile := filepath.Join(t.TempDir(), "no-such-dir", "app.log")
	var out syncBuffer
	if code := newApp(&out, target, logFile).loop(context.Background(), time.Millisecond, 2); code != 1 {
		t.Errorf("exit %d after failed requests, want 1", code)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	wantPrefixes := []string{
		"app: request 1 via direct: error Get \"" + target + "\": dial tcp",
		"app: not writing " + logFile + ": no such file or directory",
		"app: request 2 via direct: error ",
	}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("printed %q, want %d lines", out.String(), len(wantPrefixes))
	}
	for i, prefix := range wantPrefixes {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d is %q, want it to start %q", i+1, lines[i], prefix)
		}
	}
}

func TestAppStopsWithZeroOnSIGTERM(t *testing.T) {
	withProxy(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out syncBuffer
	// A failing first request, then SIGTERM: still 0, as for any pod being deleted.
	if code := newApp(&out, "http://127.0.0.1:1/hello", "").loop(ctx, time.Hour, 0); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

// The whole role, as a pod runs it: its own pod IP, through the proxy HTTP_PROXY names.
func TestRunAppThroughProxy(t *testing.T) {
	ip, err := ownIPv4()
	if err != nil {
		t.Skip("this machine has no non-loopback IPv4 address:", err)
	}
	var proxyOut syncBuffer
	proxy := httptest.NewServer(proxyHandler(&proxyOut, directTransport()))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	withProxy(t, proxy.URL) // Go reads the environment once per process
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	args := []string{"-listen", ":0", "-interval", "1ms", "-requests", "2", "-log-file", filepath.Join(dir, "app.log"), "-read", dir}
	if code := runApp(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	host, _ := os.Hostname()
	for _, want := range []string{
		"app: proxy reachable at start: yes\n",
		"app: read " + dir + "/token: s3cr3t\n",
		"app: request 2 via " + proxy.URL + ": 200 hello from " + host + "\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout %q lacks %q", stdout.String(), want)
		}
	}
	if !strings.Contains(proxyOut.String(), "proxy: GET http://"+ip.String()+":") {
		t.Errorf("the proxy saw no request for the pod's own address %s: %q", ip, proxyOut.String())
	}
}
