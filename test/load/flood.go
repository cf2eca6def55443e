package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// flood holds connections that attack the server's memory while the measured requests
// run: headerOnly of them send the headers of a POST announcing a body of length bytes
// and then nothing; slow ones send that body a KiB every slowEvery. When the server ends
// one (its read timeout, or a refusal), it connects again reopenAfter later, so that the
// pressure never lets up.
type flood struct {
	addr              string
	tls               *tls.Config
	headerOnly, slow  int
	length            int
	reopened, refused atomic.Int64 // connections the server ended; of them, answered 429
	stop              chan struct{}
	wg                sync.WaitGroup
}

const (
	slowEvery   = 100 * time.Millisecond
	reopenAfter = time.Second
)

// start opens every flooding connection and returns once each has sent its headers.
func (f *flood) start() error {
	f.stop = make(chan struct{})
	var ready sync.WaitGroup
	errs := make(chan error, f.headerOnly+f.slow)
	for i := range f.headerOnly + f.slow {
		ready.Add(1)
		f.wg.Go(func() { f.hold(i >= f.headerOnly, ready.Done, errs) })
	}
	ready.Wait()
	select {
	case err := <-errs:
		f.close()
		return fmt.Errorf("flooding: %w", err)
	default:
		return nil
	}
}

func (f *flood) close() {
	close(f.stop)
	f.wg.Wait()
}

// hold keeps one flooding request open until the flood stops.
func (f *flood) hold(slow bool, ready func(), errs chan<- error) {
	first := true
	for {
		err := f.once(slow, func() {
			if first {
				first = false
				ready()
			}
		})
		if first { // the very first connection failed: tell start
			errs <- err
			ready()
			return
		}
		select {
		case <-f.stop:
			return
		default:
		}
		// Reconnecting at once would turn the flood into a storm of TLS handshakes, which
		// measures CPU, not memory: wait as a patient attacker would.
		time.Sleep(reopenAfter)
		if err == nil {
			f.reopened.Add(1)
		}
	}
}

// once sends one flooding request and waits for the server to end it, or for the flood
// to stop.
func (f *flood) once(slow bool, sent func()) error {
	raw, err := net.DialTimeout("tcp", f.addr, 5*time.Second)
	if err != nil {
		return err
	}
	conn := tls.Client(raw, f.tls)
	defer conn.Close()
	header := fmt.Sprintf("POST /mutate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", f.addr, f.length)
	if _, err := conn.Write([]byte(header)); err != nil {
		return err
	}
	sent()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		if strings.Contains(line, " 429 ") {
			f.refused.Add(1)
		}
	}()
	var tick <-chan time.Time
	if slow {
		ticker := time.NewTicker(slowEvery)
		defer ticker.Stop()
		tick = ticker.C
	}
	chunk := make([]byte, 1024)
	for sentBytes := 0; ; {
		select {
		case <-f.stop:
			return nil
		case <-ended:
			return nil
		case <-tick:
			if sentBytes+len(chunk) < f.length {
				sentBytes += len(chunk)
				_, _ = conn.Write(chunk) // a failed write shows as the read ending
			}
		}
	}
}

func (f *flood) String() string {
	return fmt.Sprintf("%d header-only and %d slow-body connections (Content-Length %d, a KiB every %v); the server ended %d of them (%d with 429), each reopened %v later",
		f.headerOnly, f.slow, f.length, slowEvery, f.reopened.Load(), f.refused.Load(), reopenAfter)
}
