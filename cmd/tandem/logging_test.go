package main

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestServeLoggerBuffersInfoAndWritesWarningsAtOnce(t *testing.T) {
	var out bytes.Buffer
	b := &logBuffer{w: bufio.NewWriterSize(&out, 64<<10)}
	log := slog.New(&flushingHandler{Handler: slog.NewJSONHandler(b, nil), flush: b.flush}).With("component", "test")

	log.Info("admission", "uid", "1")
	if out.Len() != 0 {
		t.Fatalf("an info line was written through: %s", out.String())
	}
	log.Warn("request rejected")
	if got := strings.Count(out.String(), "\n"); got != 2 {
		t.Fatalf("after a warning, %d lines written, want the info line and the warning:\n%s", got, out.String())
	}
	log.Info("admission", "uid", "2")
	b.flush()
	if !strings.Contains(out.String(), `"uid":"2"`) {
		t.Errorf("flush did not write the buffered line:\n%s", out.String())
	}
}

func TestServeLoggerFlushesWhenItsContextEnds(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	log, flush := newServeLogger(ctx, &out, slog.LevelInfo)
	log.Info("shutting down")
	cancel()
	flush()
	if !strings.Contains(out.String(), "shutting down") {
		t.Errorf("the last line was lost: %q", out.String())
	}
}
