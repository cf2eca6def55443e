// Command image builds Tandem's container image without a container engine: the static
// binary `make build-static` produced, on an empty base, written as a docker-archive
// tarball (`docker load -i`, `ctr images import`). `make image` runs it; the Dockerfile
// at the repository root builds the same image with Docker, and main_test.go keeps the
// two in step.
//
// It prints the tag and the image's manifest digest.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/tandem-io/tandem/internal/image"
)

// What the image looks like; the Dockerfile's final stage must say the same.
const (
	binaryPath = "/usr/local/bin/tandem"
	user       = "65532:65532" // nonroot, as in distroless
	pathEnv    = "PATH=/usr/local/bin"
	title      = "tandem"
	source     = "https://github.com/tandem-io/tandem"
)

type options struct {
	binary, tag, out, arch    string
	version, revision, source string
	licenses                  string
	created                   int64
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.binary, "binary", "", "the static tandem binary (required)")
	fs.StringVar(&o.tag, "tag", "", "the image's tag, e.g. ghcr.io/tandem-io/tandem:v1.2.3 (required)")
	fs.StringVar(&o.out, "o", "", "the docker-archive tarball to write (required)")
	fs.StringVar(&o.arch, "arch", runtime.GOARCH, "the binary's GOARCH")
	fs.StringVar(&o.version, "version", "", "org.opencontainers.image.version")
	fs.StringVar(&o.revision, "revision", "", "org.opencontainers.image.revision: the git commit")
	fs.StringVar(&o.source, "source", source, "org.opencontainers.image.source: the repository URL")
	fs.StringVar(&o.licenses, "licenses", "", "org.opencontainers.image.licenses, an SPDX expression; empty while the repository has no LICENSE")
	fs.Int64Var(&o.created, "created", 0, "the image's creation time in Unix seconds: the commit's, for reproducible builds")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.binary == "" || o.tag == "" || o.out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: image -binary FILE -tag TAG -o FILE [flags]")
		fs.PrintDefaults()
		return 2
	}
	digests, err := image.Write(o.out, spec(o))
	if err != nil {
		fmt.Fprintln(stderr, "image:", err)
		return 1
	}
	fmt.Fprintln(stdout, o.tag, digests[o.tag])
	return 0
}

func spec(o options) image.Spec {
	return image.Spec{
		Tag:          o.tag,
		Binary:       o.binary,
		Path:         binaryPath,
		Entrypoint:   []string{binaryPath},
		User:         user,
		Env:          []string{pathEnv},
		Labels:       labels(o),
		Created:      time.Unix(o.created, 0),
		Architecture: o.arch,
	}
}

// labels leaves out what is unknown rather than writing an empty value.
func labels(o options) map[string]string {
	l := map[string]string{"org.opencontainers.image.title": title}
	for key, value := range map[string]string{
		"org.opencontainers.image.version":  o.version,
		"org.opencontainers.image.revision": o.revision,
		"org.opencontainers.image.source":   o.source,
		"org.opencontainers.image.licenses": o.licenses,
	} {
		if value != "" {
			l[key] = value
		}
	}
	return l
}
