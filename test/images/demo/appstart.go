package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// startLine tells whether the proxy accepted a connection when the app started: one
// attempt, no retry, because the point is to show whether the proxy came up first.
func startLine(httpProxy string, timeout time.Duration) string {
	if httpProxy == "" {
		return fmt.Sprintf(fmtStartNo, "HTTP_PROXY not set")
	}
	addr, err := proxyAddress(httpProxy)
	if err == nil {
		var conn net.Conn
		if conn, err = net.DialTimeout("tcp", addr, timeout); err == nil {
			conn.Close()
			return fmtStartYes
		}
	}
	return fmt.Sprintf(fmtStartNo, err)
}

// proxyAddress is the host:port of an HTTP_PROXY value, read the way Go's
// http.ProxyFromEnvironment reads it: the scheme may be left out, the port defaults.
func proxyAddress(httpProxy string) (string, error) {
	if !strings.Contains(httpProxy, "://") {
		httpProxy = "http://" + httpProxy
	}
	u, err := url.Parse(httpProxy)
	if err != nil {
		return "", err
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("HTTP_PROXY %q names no host", httpProxy)
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// readDir prints each regular file of dir (following symbolic links, as Kubernetes
// volumes use them) with its trimmed content.
func readDir(out io.Writer, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintf(out, fmtRead, dir, err)
		return
	}
	for _, e := range entries {
		file := filepath.Join(dir, e.Name())
		if info, err := os.Stat(file); err != nil || !info.Mode().IsRegular() {
			continue
		}
		content, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(out, fmtRead, file, err)
			continue
		}
		fmt.Fprintf(out, fmtRead, file, strings.TrimSpace(string(content)))
	}
}
