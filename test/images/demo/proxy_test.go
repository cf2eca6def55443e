package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// upstreamAndProxy starts an upstream answering "hi" and the proxy, and returns a client
// that sends its requests through the proxy, the upstream's URL and the proxy's output.
func upstreamAndProxy(t *testing.T) (*http.Client, string, *syncBuffer) {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hi from "+r.URL.Path)
	}))
	t.Cleanup(upstream.Close)
	var out syncBuffer
	proxy := httptest.NewServer(proxyHandler(&out, directTransport()))
	t.Cleanup(proxy.Close)
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	return client, upstream.URL, &out
}

func get(t *testing.T, client *http.Client, target string) (int, string) {
	t.Helper()
	resp, err := client.Get(target)
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

func TestProxyForwardsAndPrints(t *testing.T) {
	client, upstream, out := upstreamAndProxy(t)
	status, body := get(t, client, upstream+"/hello")
	if status != 200 || body != "hi from /hello" {
		t.Errorf("got %d %q, want 200 from the upstream", status, body)
	}
	if want := "proxy: GET " + upstream + "/hello -> 200\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

func TestProxyAnswers502WhenUpstreamFails(t *testing.T) {
	client, _, out := upstreamAndProxy(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/x"
	l.Close()
	status, body := get(t, client, closed)
	if status != http.StatusBadGateway || !strings.Contains(body, "connection refused") {
		t.Errorf("got %d %q, want 502 with the dial error", status, body)
	}
	want := "proxy: GET " + closed + " -> 502 (dial tcp " + l.Addr().String() + ": connect: connection refused)\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

// Requests a proxy must refuse, sent raw since Go's client would not send them.
func TestProxyRefusesConnectAndOriginForm(t *testing.T) {
	var out syncBuffer
	proxy := httptest.NewServer(proxyHandler(&out, directTransport()))
	defer proxy.Close()
	for _, tc := range []struct {
		requestLine string
		status      int
	}{
		{"CONNECT example.com:443 HTTP/1.1", http.StatusMethodNotAllowed},
		{"GET /hello HTTP/1.1", http.StatusBadRequest},
	} {
		if got := rawStatus(t, proxy.Listener.Addr().String(), tc.requestLine); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.requestLine, got, tc.status)
		}
	}
	want := "proxy: CONNECT example.com:443 -> 405\nproxy: GET /hello -> 400\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

func rawStatus(t *testing.T, addr, requestLine string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s\r\nHost: example.com\r\n\r\n", requestLine)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAdminAnswersReadyOnly(t *testing.T) {
	var out syncBuffer
	admin := httptest.NewServer(adminHandler(&out))
	defer admin.Close()
	req, err := http.NewRequest(http.MethodGet, admin.URL+"/ready", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "kube-probe/1.34")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ready" {
		t.Errorf("/ready: %d %q, want 200 \"ready\"", resp.StatusCode, body)
	}
	if status, _ := get(t, http.DefaultClient, admin.URL+"/healthz"); status != http.StatusNotFound {
		t.Errorf("/healthz: %d, want 404", status)
	}
	if want := "proxy: admin /ready from kube-probe/1.34\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

func TestRunProxyStopsWithZeroAndFailsOnBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var stdout, stderr syncBuffer
	if code := runProxy(context.Background(), []string{"-listen", busy.Addr().String(), "-admin", "127.0.0.1:0"}, &stdout, &stderr); code != 1 {
		t.Errorf("busy proxy port: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "address already in use") {
		t.Errorf("stderr %q does not say why", &stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM, as early as it can come
	if code := runProxy(ctx, []string{"-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0"}, &stdout, &stderr); code != 0 {
		t.Errorf("after SIGTERM: exit %d, want 0", code)
	}
}
