package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logFlushInterval bounds how long an info line waits in the buffer.
const logFlushInterval = 100 * time.Millisecond

// newServeLogger returns the JSON logger of `tandem serve` and a function that flushes it.
//
// Lines are buffered and written every logFlushInterval, or at once for warnings and
// errors: with one line per admission, a write system call per line cost more CPU than
// the admission itself (docs/performance.md). A crash loses at most the last interval of
// info lines.
func newServeLogger(ctx context.Context, w io.Writer, level slog.Level) (*slog.Logger, func()) {
	b := &logBuffer{w: bufio.NewWriterSize(w, 64<<10)}
	go b.flushEvery(ctx, logFlushInterval)
	h := slog.NewJSONHandler(b, &slog.HandlerOptions{Level: level})
	return slog.New(&flushingHandler{Handler: h, flush: b.flush}), b.flush
}

// logBuffer is a bufio.Writer shared by goroutines.
type logBuffer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *logBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.w.Flush() // nowhere to report a failure to write logs
}

func (b *logBuffer) flushEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.flush()
			return
		case <-t.C:
			b.flush()
		}
	}
}

// flushingHandler writes warnings and errors through at once: they may come just before
// the process ends, and they are rare.
type flushingHandler struct {
	slog.Handler
	flush func()
}

func (h *flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.flush()
	}
	return err
}

func (h *flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &flushingHandler{Handler: h.Handler.WithAttrs(attrs), flush: h.flush}
}

func (h *flushingHandler) WithGroup(name string) slog.Handler {
	return &flushingHandler{Handler: h.Handler.WithGroup(name), flush: h.flush}
}
