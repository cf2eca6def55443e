// Command demo is the one binary behind the demo images the end-to-end tests and the
// demo run in a real node: tandem.local/demo-{proxy,app,logs,write}:dev, each with the
// entrypoint ["/demo", "<role>"]. It uses only the standard library and builds static.
//
//	demo proxy [-listen :15001] [-admin :15000]   a plain HTTP forward proxy sidecar
//	demo write PATH TEXT                           a secrets agent: writes TEXT to PATH
//	demo app [-listen :8080] [-interval 2s] [-requests 0] [-log-file FILE] [-read DIR]
//	demo logs FILE                                 a log shipper following FILE
//
// SIGTERM (or SIGINT) ends every long-running role with status 0; an unknown role, or
// none, prints usage and exits 2.
//
// # Output
//
// Tests grep these lines, so their formats are fixed (format.go holds them all). Each is
// one line on stdout unless it says stderr.
//
//	proxy: GET http://10.88.0.5:8080/hello -> 200          a request it forwarded: method, URL, status
//	proxy: GET http://10.88.0.5:8080/hello -> 502 (ERROR)  the upstream failed; the client gets 502
//	proxy: CONNECT example.com:443 -> 405                  refused: CONNECT (tunnels), or 400 for a non-proxy request
//	proxy: admin /ready from USER-AGENT                    a readiness probe (kubelet's say kube-probe/1.xx)
//	write: wrote PATH
//	write: cannot write PATH: ERROR                        (stderr; exit 1)
//	app: proxy reachable at start: yes
//	app: proxy reachable at start: no (REASON)             REASON is "HTTP_PROXY not set" or the dial error
//	app: read DIR/NAME: CONTENT                            each regular file of -read DIR, content trimmed
//	app: read DIR: ERROR                                   -read DIR could not be listed (or DIR/NAME read)
//	app: request N via PROXY: STATUS BODY                  PROXY is the proxy's URL or "direct"
//	app: request N via PROXY: error ERROR
//	app: not writing FILE: REASON                          once, when -log-file cannot be appended to
//	logs: shipped: LINE
//
// # Roles
//
// proxy forwards requests whose request line holds an absolute URL, as clients that
// honour HTTP_PROXY send them, with a transport that uses no proxy itself. It opens the
// proxy port before the admin port, so a successful readiness probe (GET /ready on the
// admin port: 200 "ready"; any other path 404) implies the proxy port accepts connections.
//
// write creates PATH's parent directories and writes TEXT and a newline: an init
// container that leaves a file for the app to read.
//
// app first dials HTTP_PROXY's host and port once, with a one-second timeout, and says
// whether that worked: with a classic sidecar the proxy may not be up yet, with a native
// (init container) sidecar it is. It then prints the files of -read DIR, serves
// GET /hello ("hello from HOSTNAME") on -listen, and every -interval requests
// http://OWN-IP:PORT/hello, its own first non-loopback IPv4 address — Go sends requests
// for loopback addresses directly, whatever HTTP_PROXY says — through
// http.ProxyFromEnvironment. The first request goes out at once. Each request line is
// also appended to -log-file when that file's directory exists. With -requests N > 0 it
// exits after N requests, 0 if all got 200 and 1 otherwise; with 0 it runs until SIGTERM.
//
// logs waits for FILE to exist, polling every 200ms, then follows it from its first line
// like tail -F: when FILE is truncated it starts again from the top, when it is replaced
// (rotated, recreated) it reads the new file from its start.
package main
