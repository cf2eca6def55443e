package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// A role runs until it is done or ctx ends, and returns the exit status.
type role func(ctx context.Context, args []string, stdout, stderr io.Writer) int

func roles() map[string]role {
	return map[string]role{"proxy": runProxy, "write": runWrite, "app": runApp, "logs": runLogs}
}

const usage = `usage: demo ROLE [ARGS]
  demo proxy [-listen :15001] [-admin :15000]
  demo write PATH TEXT
  demo app [-listen :8080] [-interval 2s] [-requests 0] [-log-file /var/log/app/app.log] [-read DIR]
  demo logs FILE
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if run, ok := roles()[args[0]]; ok {
			return run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// flags returns a flag set for a role that reports to stderr instead of exiting.
func flags(role string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("demo "+role, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args and refuses positional ones; false means exit 2.
func parse(fs *flag.FlagSet, args []string) bool {
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return false
	}
	return true
}
