package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an output the roles' goroutines may write to while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls until cond holds, failing the test if it does not within a generous
// deadline; nothing is asserted about how long it takes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestDispatchRefusesUnknownRoles(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"-listen", ":1"}} {
		var stdout, stderr bytes.Buffer
		if code := dispatch(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("demo %q: exit %d, want 2", args, code)
		}
		if !strings.HasPrefix(stderr.String(), "usage: demo ROLE") || stdout.Len() > 0 {
			t.Errorf("demo %q: stdout %q, stderr %q; want usage on stderr only", args, &stdout, &stderr)
		}
	}
}

func TestDispatchRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"proxy", "-bogus"}, {"app", "extra"}, {"app", "-interval", "0s"}, {"logs"}, {"write", "only-path"}} {
		var stdout, stderr bytes.Buffer
		if code := dispatch(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("demo %q: exit %d, want 2 (stderr %q)", args, code, &stderr)
		}
	}
}
