package main

// The lines the roles print; the package documentation describes each. Tests outside this
// package grep for them, so a change here is a change of interface.
const (
	fmtProxied      = "proxy: %s %s -> %d\n"       // method, URL, status
	fmtProxyFailed  = "proxy: %s %s -> 502 (%v)\n" // method, URL, error
	fmtAdminReady   = "proxy: admin /ready from %s\n"
	fmtWrote        = "write: wrote %s\n"
	fmtWriteFailed  = "write: cannot write %s: %v\n"
	fmtStartYes     = "app: proxy reachable at start: yes\n"
	fmtStartNo      = "app: proxy reachable at start: no (%s)\n"
	fmtRead         = "app: read %s: %s\n" // DIR/NAME and content, or DIR and error
	fmtRequest      = "app: request %d via %s: %d %s\n"
	fmtRequestError = "app: request %d via %s: error %v\n"
	fmtNotLogging   = "app: not writing %s: %v\n"
	fmtShipped      = "logs: shipped: %s\n"
)
