package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flags("proxy", stderr)
	listen := fs.String("listen", ":15001", "the proxy's address")
	admin := fs.String("admin", ":15000", "the admin address, for GET /ready")
	if !parse(fs, args) {
		return 2
	}
	// The proxy port first: a readiness probe answered on the admin port then implies
	// that the proxy port is open.
	pl, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "proxy:", err)
		return 1
	}
	al, err := net.Listen("tcp", *admin)
	if err != nil {
		pl.Close()
		fmt.Fprintln(stderr, "proxy:", err)
		return 1
	}
	p, a := start(pl, proxyHandler(stdout, directTransport())), start(al, adminHandler(stdout))
	defer p.stop()
	defer a.stop()
	select {
	case <-ctx.Done():
		return 0
	case err = <-p.done:
	case err = <-a.done:
	}
	fmt.Fprintln(stderr, "proxy:", err)
	return 1
}

// directTransport never uses a proxy, whatever the environment says: the proxy must not
// send requests to itself.
func directTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
}

// proxyHandler forwards requests that name an absolute URL, as clients configured with
// HTTP_PROXY send them, and prints one line for each.
func proxyHandler(out io.Writer, transport http.RoundTripper) http.Handler {
	forward := &httputil.ReverseProxy{
		// Out is already In, less the hop-by-hop headers: the client chose the URL.
		Rewrite:   func(*httputil.ProxyRequest) {},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			fmt.Fprintf(out, fmtProxied, resp.Request.Method, resp.Request.URL, resp.StatusCode)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			fmt.Fprintf(out, fmtProxyFailed, r.Method, r.URL, err)
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodConnect:
			refuse(out, w, r, http.StatusMethodNotAllowed, "CONNECT is not supported: send plain HTTP requests")
		case !r.URL.IsAbs():
			refuse(out, w, r, http.StatusBadRequest, "not a proxy request: the request line needs an absolute URL")
		default:
			forward.ServeHTTP(w, r)
		}
	})
}

func refuse(out io.Writer, w http.ResponseWriter, r *http.Request, status int, why string) {
	fmt.Fprintf(out, fmtProxied, r.Method, r.RequestURI, status)
	http.Error(w, why, status)
}

// adminHandler answers kubelet's readiness probe, and nothing else.
func adminHandler(out io.Writer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(out, fmtAdminReady, r.UserAgent())
		io.WriteString(w, "ready")
	})
	return mux
}
