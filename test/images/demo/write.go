package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func runWrite(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: demo write PATH TEXT")
		return 2
	}
	path, text := args[0], args[1]
	if err := writeFile(path, text); err != nil {
		fmt.Fprintf(stderr, fmtWriteFailed, path, err)
		return 1
	}
	fmt.Fprintf(stdout, fmtWrote, path)
	return 0
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text+"\n"), 0o644)
}
