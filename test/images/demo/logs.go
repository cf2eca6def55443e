package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: demo logs FILE")
		return 2
	}
	follow(ctx, args[0], 200*time.Millisecond, func(line string) { fmt.Fprintf(stdout, fmtShipped, line) })
	return 0
}

// follow emits each line of path, from the first, as it is written, polling every so
// often, until ctx ends; then it reads once more so that nothing written before is lost.
func follow(ctx context.Context, path string, every time.Duration, emit func(string)) {
	f := &follower{path: path, emit: emit}
	defer f.close()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		f.poll()
		select {
		case <-ctx.Done():
			f.poll()
			return
		case <-ticker.C:
		}
	}
}

// follower reads one file the way tail -F does.
type follower struct {
	path    string
	emit    func(string)
	file    *os.File // nil until path exists
	reader  *bufio.Reader
	offset  int64  // bytes read from file, the partial line included
	partial string // the start of a line whose newline is not written yet
}

func (f *follower) poll() {
	if f.file == nil && !f.open() {
		return
	}
	f.drain()
	now, err := os.Stat(f.path)
	if err != nil {
		return // removed: keep what is open until a new file appears
	}
	if was, err := f.file.Stat(); err != nil || !os.SameFile(now, was) {
		// Replaced (rotated, recreated): the old file is read to its end; on to the new.
		if f.partial != "" {
			f.emit(f.partial)
		}
		f.close()
		if f.open() {
			f.drain()
		}
		return
	}
	if now.Size() < f.offset { // truncated in place: what is there now is new
		if _, err := f.file.Seek(0, io.SeekStart); err == nil {
			f.reader.Reset(f.file)
			f.offset, f.partial = 0, ""
			f.drain()
		}
	}
}

func (f *follower) open() bool {
	file, err := os.Open(f.path)
	if err != nil {
		return false
	}
	f.file, f.reader, f.offset, f.partial = file, bufio.NewReader(file), 0, ""
	return true
}

// drain emits every complete line written so far and keeps an incomplete last one.
func (f *follower) drain() {
	for {
		chunk, err := f.reader.ReadString('\n')
		f.offset += int64(len(chunk))
		if err != nil {
			f.partial += chunk
			return
		}
		f.emit(strings.TrimSuffix(f.partial+chunk, "\n"))
		f.partial = ""
	}
}

func (f *follower) close() {
	if f.file != nil {
		f.file.Close()
		f.file = nil
	}
}
