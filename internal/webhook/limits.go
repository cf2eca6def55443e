package webhook

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// MaxBodySize bounds one admission request. Tandem is registered for pod CREATE only, and
// a CREATE review carries one object (oldObject is null). The API server stores a pod
// only if its protobuf encoding fits etcd's request limit (1.5 MiB by default), and sends
// it to Tandem as JSON: 1.3–1.4 times the protobuf size for the reference payloads, 2.1
// times for the worst pod we could build (20,000 one-letter volume mounts). So any pod
// that can be created arrives in about 3.2 MiB, with the review's envelope; 4 MiB leaves
// room for JSON's string escapes. A larger pod would be refused by etcd anyway.
const MaxBodySize = 4 << 20

// Defaults of the overload protection (Options). The byte budget is the bound on the
// memory requests can hold: the chart gives a replica 256 MiB, of which Tandem itself uses
// about 40; 32 MiB holds seven of the largest possible requests at once, or hundreds of
// ordinary ones, which arrive and are answered in well under a millisecond each.
const (
	defaultMaxConnections      = 1024
	defaultMaxRequestsInFlight = 256
	defaultMaxBufferedBytes    = 32 << 20
	// defaultRequestReadTimeout bounds reading one request, headers and body, from its
	// first byte: the API server sends a review in one write and gives up on a webhook
	// after 10 s by default, so a request still arriving after that is nobody's.
	defaultRequestReadTimeout = 10 * time.Second
)

// retryAfter is the Retry-After of a refusal under load, in seconds. The API server's
// client honours it within the webhook's timeoutSeconds, then applies the failurePolicy.
const retryAfter = "1"

// admissionLimits bound what clients can make the server hold: open connections,
// requests in flight, and the bytes their body buffers take. Past a limit a connection is
// closed, or a request refused, at once (shed) rather than queued: a queue would hold the
// very memory the limits protect, and the API server would wait on it until its timeout.
type admissionLimits struct {
	maxConns, maxRequests, maxBytes int64
	conns, requests, bytes          atomic.Int64
	// refused is told of each refusal: which limit, and the client's address.
	refused func(limit, remote string)
}

func newAdmissionLimits(o *Options, m *metrics, log *slog.Logger) *admissionLimits {
	l := &admissionLimits{maxConns: int64(o.MaxConnections), maxRequests: int64(o.MaxRequestsInFlight), maxBytes: o.MaxBufferedBytes}
	var warned overloadLog
	l.refused = func(limit, remote string) {
		m.overloadRefusals.WithLabelValues(limit).Inc()
		warned.note(log, l, limit, remote)
	}
	return l
}

// enter counts a request in; false when there are already as many as allowed, and then
// the request must not call leave.
func (l *admissionLimits) enter() bool {
	if l.requests.Add(1) > l.maxRequests {
		l.requests.Add(-1)
		return false
	}
	return true
}

func (l *admissionLimits) leave() { l.requests.Add(-1) }

// reserve takes n bytes of the budget; false when they are not there.
func (l *admissionLimits) reserve(n int64) bool {
	if l.bytes.Add(n) > l.maxBytes {
		l.bytes.Add(-n)
		return false
	}
	return true
}

func (l *admissionLimits) release(n int64) { l.bytes.Add(-n) }

// Overload refusals, the limit label of tandem_admission_overload_refusals_total.
const (
	limitConnections = "connections"
	limitRequests    = "requests"
	limitBytes       = "bytes"
)

var (
	retryAfterValue  = []string{retryAfter}
	connectionClose  = []string{"close"}
	overloadMessages = map[string]string{
		limitRequests: "Tandem is overloaded: too many requests in flight; retry later",
		limitBytes:    "Tandem is overloaded: too many request bytes in flight; retry later",
	}
)

// shed answers a request refused under load: 429 with Retry-After, and over HTTP/1 the
// connection is closed without reading what is left of the body, so that a client that
// never sends it holds nothing here.
func (h *handler) shed(w http.ResponseWriter, r *http.Request, limit string) {
	header := w.Header()
	header["Retry-After"] = retryAfterValue
	if r.ProtoMajor == 1 {
		header["Connection"] = connectionClose
		// net/http reads up to 256 KiB of an unread body before closing; a read deadline
		// in the past ends that read at once.
		_ = http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
	}
	http.Error(w, overloadMessages[limit], http.StatusTooManyRequests)
	h.limits.refused(limit, r.RemoteAddr)
}

// overloadLog writes at most one warning per overloadLogEvery: a flood of refusals must
// not become a flood of log lines. The metric counts every refusal.
type overloadLog struct{ last atomic.Int64 }

const overloadLogEvery = 10 * time.Second

func (o *overloadLog) note(log *slog.Logger, l *admissionLimits, limit, remote string) {
	now := time.Now().UnixNano()
	last := o.last.Load()
	if now-last < int64(overloadLogEvery) || !o.last.CompareAndSwap(last, now) {
		return
	}
	log.Warn("refusing admission requests: overloaded (at most one line per "+overloadLogEvery.String()+"; see tandem_admission_overload_refusals_total)",
		"limit", limit, "remote", remote,
		"connections", l.conns.Load(), "maxConnections", l.maxConns,
		"requestsInFlight", l.requests.Load(), "maxRequestsInFlight", l.maxRequests,
		"bufferedBytes", l.bytes.Load(), "maxBufferedBytes", l.maxBytes)
}

// connLimitListener closes the connections accepted past the limit at once: an open
// connection holds TLS and HTTP buffers whether or not it sends anything, so their number
// bounds memory as much as the requests' bodies do.
type connLimitListener struct {
	net.Listener
	limits *admissionLimits
}

func (ln connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ln.limits.conns.Add(1) <= ln.limits.maxConns {
			return &countedConn{Conn: c, limits: ln.limits}, nil
		}
		ln.limits.conns.Add(-1)
		c.Close()
		ln.limits.refused(limitConnections, c.RemoteAddr().String())
	}
}

// countedConn leaves the count of open connections when it is closed, once.
type countedConn struct {
	net.Conn
	limits *admissionLimits
	closed sync.Once
}

func (c *countedConn) Close() error {
	c.closed.Do(func() { c.limits.conns.Add(-1) })
	return c.Conn.Close()
}
