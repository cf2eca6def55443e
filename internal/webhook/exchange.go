package webhook

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// exchange holds the buffers of one admission request: the body, the scanner's state and
// the response. They are pooled, so that in the steady state a request allocates none of
// them: a 100 KB pod costs no 100 KB of garbage.
type exchange struct {
	body    bytes.Buffer
	limited io.LimitedReader
	scanner reviewScanner
	out     []byte
}

// maxPooledBody keeps rare huge requests from pinning their buffers in the pool.
const maxPooledBody = 1 << 20

// exchangePool recycles exchanges between requests.
type exchangePool struct{ pool sync.Pool }

func (p *exchangePool) get() *exchange {
	if ex, ok := p.pool.Get().(*exchange); ok {
		return ex
	}
	return new(exchange)
}

func (p *exchangePool) put(ex *exchange) {
	if ex.body.Cap() > maxPooledBody || cap(ex.out) > maxPooledBody {
		return
	}
	ex.limited.R = nil
	ex.scanner.s.Reset(nil) // drop the reference to the body
	p.pool.Put(ex)
}

// readBody reads the request body into ex.body, at most MaxBodySize bytes of it.
func (ex *exchange) readBody(r *http.Request) (status int, msg string) {
	ex.body.Reset()
	if r.ContentLength > 0 {
		// One allocation at most, and room for ReadFrom's final read that sees EOF.
		ex.body.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	ex.limited = io.LimitedReader{R: r.Body, N: MaxBodySize + 1}
	if _, err := ex.body.ReadFrom(&ex.limited); err != nil {
		return http.StatusBadRequest, "reading the body: " + err.Error()
	}
	if ex.body.Len() > MaxBodySize {
		return http.StatusRequestEntityTooLarge, tooLarge
	}
	return 0, ""
}
