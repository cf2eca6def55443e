package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteCreatesParentsAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "nested", "token")
	var stdout, stderr bytes.Buffer
	if code := runWrite(context.Background(), []string{path, "s3cr3t"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "s3cr3t\n" {
		t.Errorf("file holds %q (%v), want \"s3cr3t\\n\"", got, err)
	}
	if want := "write: wrote " + path + "\n"; stdout.String() != want {
		t.Errorf("printed %q, want %q", &stdout, want)
	}
}

func TestWriteFailsClearly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "under-a-file")
	var stdout, stderr bytes.Buffer
	if code := runWrite(context.Background(), []string{path, "x"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(stderr.String(), "write: cannot write "+path+": ") || stdout.Len() > 0 {
		t.Errorf("stdout %q, stderr %q", &stdout, &stderr)
	}
}
