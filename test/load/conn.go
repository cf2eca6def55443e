package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// conn is one keep-alive HTTPS connection that sends the same pre-built request again and
// again. It speaks just enough HTTP/1.1 to read a response (status, Content-Length or
// chunked body) and allocates nothing per request: net/http's client costs several times
// more CPU per request than the server it would measure.
type conn struct {
	addr    string
	tls     *tls.Config
	request []byte
	c       net.Conn
	r       *bufio.Reader
}

func (c *conn) dial() error {
	raw, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		return err
	}
	tc := tls.Client(raw, c.tls)
	if err := tc.Handshake(); err != nil {
		raw.Close()
		return err
	}
	c.c = tc
	if c.r == nil {
		c.r = bufio.NewReaderSize(tc, 64<<10)
	} else {
		c.r.Reset(tc)
	}
	return nil
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// roundTrip sends the request and reads the whole response, returning its status. On an
// error the connection is closed; the next call dials again.
func (c *conn) roundTrip() (int, error) {
	if c.c == nil {
		if err := c.dial(); err != nil {
			return 0, err
		}
	}
	if _, err := c.c.Write(c.request); err != nil {
		c.close()
		return 0, err
	}
	status, err := c.readResponse()
	if err != nil {
		c.close()
	}
	return status, err
}

var (
	headerContentLength = []byte("content-length:")
	headerChunked       = []byte("transfer-encoding: chunked")
	headerClose         = []byte("connection: close")
)

func (c *conn) readResponse() (int, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("not an HTTP/1.x response: %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 { // the blank line ending the headers
			break
		}
		switch {
		case hasPrefixFold(line, headerContentLength):
			length, err = strconv.Atoi(string(bytes.TrimSpace(line[len(headerContentLength):])))
			if err != nil {
				return 0, fmt.Errorf("bad header %q", line)
			}
		case hasPrefixFold(line, headerChunked):
			chunked = true
		case hasPrefixFold(line, headerClose):
			closing = true
		}
	}
	switch {
	case chunked:
		err = c.discardChunks()
	case length >= 0:
		_, err = c.r.Discard(length)
	default:
		err = errors.New("a response without Content-Length or chunked encoding")
	}
	if err == nil && closing {
		c.close()
	}
	return status, err
}

func (c *conn) discardChunks() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if _, err := c.r.Discard(int(size) + 2); err != nil { // the chunk and its CRLF
			return err
		}
		if size == 0 {
			return nil
		}
	}
}

func hasPrefixFold(s, prefix []byte) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], prefix)
}

// buildRequest is the whole HTTP request, headers and body, written once.
func buildRequest(host, path string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n", path, host, len(body))
	b.Write(body)
	return b.Bytes()
}
