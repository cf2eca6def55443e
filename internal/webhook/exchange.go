package webhook

import (
	"io"
	"net/http"
	"slices"
	"sync"
)

// exchange holds the buffers of one admission request: the body, the scanner's state and
// the response. They are pooled, so that in the steady state a request allocates none of
// them: a 100 KB pod costs no 100 KB of garbage.
type exchange struct {
	body []byte
	// reserved is how much of the byte budget body holds: its capacity.
	reserved int64
	scanner  reviewScanner
	out      []byte
}

// maxPooledBody keeps rare huge requests from pinning their buffers in the pool: a
// pooled buffer is taken by the next request before a byte of its body has arrived.
const maxPooledBody = 256 << 10

// firstBodyChunk is the buffer a request without a pooled one starts with; it doubles as
// the body arrives.
const firstBodyChunk = 16 << 10

// exchangePool recycles exchanges between requests.
type exchangePool struct{ pool sync.Pool }

func (p *exchangePool) get() *exchange {
	if ex, ok := p.pool.Get().(*exchange); ok {
		return ex
	}
	return new(exchange)
}

func (p *exchangePool) put(ex *exchange) {
	if cap(ex.body) > maxPooledBody || cap(ex.out) > maxPooledBody {
		return
	}
	// Reset whole, keeping only the buffers worth reusing: the body, the response and
	// the pod view the scanner reads into.
	*ex = exchange{body: ex.body[:0], out: ex.out[:0], scanner: reviewScanner{pod: ex.scanner.pod}}
	p.pool.Put(ex)
}

// readBody reads the request body into ex.body, at most MaxBodySize bytes of it. The
// buffer grows as bytes arrive, never from what Content-Length announces, and each growth
// is taken from the byte budget first; the caller releases ex.reserved when done.
// limit names the limit that refused the request when status is 429.
func (ex *exchange) readBody(body io.Reader, limits *admissionLimits) (status int, msg, limit string) {
	ex.body = ex.body[:0]
	if !limits.reserve(int64(cap(ex.body))) {
		return http.StatusTooManyRequests, "", limitBytes
	}
	ex.reserved = int64(cap(ex.body))
	for {
		if len(ex.body) == cap(ex.body) {
			if status, msg, limit := ex.grow(limits); status != 0 {
				return status, msg, limit
			}
		}
		n, err := body.Read(ex.body[len(ex.body):cap(ex.body)])
		ex.body = ex.body[:len(ex.body)+n]
		if err == io.EOF {
			if len(ex.body) > MaxBodySize { // its last bytes came with EOF
				return http.StatusRequestEntityTooLarge, tooLarge, ""
			}
			return 0, "", ""
		}
		if err != nil {
			return http.StatusBadRequest, "reading the body: " + err.Error(), ""
		}
	}
}

// grow doubles the full body buffer, to MaxBodySize+1 at most: one byte more than allowed
// tells a body that is too large.
func (ex *exchange) grow(limits *admissionLimits) (status int, msg, limit string) {
	if len(ex.body) > MaxBodySize {
		return http.StatusRequestEntityTooLarge, tooLarge, ""
	}
	want := min(max(2*cap(ex.body), firstBodyChunk), MaxBodySize+1)
	if !limits.reserve(int64(want - cap(ex.body))) {
		return http.StatusTooManyRequests, "", limitBytes
	}
	ex.body = slices.Grow(ex.body, want-len(ex.body))
	// The allocator may round the capacity up; count what is really held.
	limits.bytes.Add(int64(cap(ex.body) - want)) // a few bytes over the budget at most
	ex.reserved = int64(cap(ex.body))
	return 0, "", ""
}
