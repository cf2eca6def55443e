package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// lines collects what a follower emits, for a test to read concurrently.
type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, line)
}

func (l *lines) equal(want ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Equal(l.got, want)
}

func appendTo(t *testing.T, file, text string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestFollowLikeTailF(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.log")
	var got lines
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		follow(ctx, file, time.Millisecond, got.add)
	}()
	want := []string{"one", "two"}
	appendTo(t, file, "one\ntwo\npar") // the follower may not have looked for it yet
	waitFor(t, "the first lines", func() bool { return got.equal(want...) })

	appendTo(t, file, "tial\n")
	want = append(want, "partial")
	waitFor(t, "a line written in two parts", func() bool { return got.equal(want...) })

	if err := os.WriteFile(file, []byte("3\n"), 0o644); err != nil { // truncates
		t.Fatal(err)
	}
	want = append(want, "3")
	waitFor(t, "the line after truncation", func() bool { return got.equal(want...) })

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	appendTo(t, file, "four\nfive\n") // a new file, longer than what was read of the old
	want = append(want, "four", "five")
	waitFor(t, "the lines of the recreated file", func() bool { return got.equal(want...) })

	appendTo(t, file, "last\n")
	cancel()
	<-done
	// Whatever was written before SIGTERM is shipped: follow reads once more on the way out.
	if want = append(want, "last"); !got.equal(want...) {
		t.Errorf("shipped %q, want %q", got.got, want)
	}
}

func TestRunLogsPrintsShippedLines(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(file, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr syncBuffer
	if code := runLogs(ctx, []string{file}, &stdout, &stderr); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if want := "logs: shipped: hello\n"; stdout.String() != want {
		t.Errorf("printed %q, want %q", stdout.String(), want)
	}
}
