package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/explain"
	"github.com/tandem-io/tandem/internal/inject"
	"github.com/tandem-io/tandem/internal/manifest"
)

// maxManifestSize bounds what inject and explain read, so a mistaken `-f /dev/zero`
// fails cleanly.
const maxManifestSize = 64 << 20

// offlineFlags are the flags tandem inject and tandem explain -f share, so that both see
// the same pods in the same namespaces.
type offlineFlags struct {
	file            string
	namespace       string
	namespaceLabels map[string]string
	nativeSidecars  string
}

func (o *offlineFlags) register(flags *pflag.FlagSet) {
	flags.StringVarP(&o.file, "filename", "f", "", "manifest file to read, or - for stdin")
	flags.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of objects that do not name one")
	flags.StringToStringVar(&o.namespaceLabels, "namespace-labels", nil, "labels of the namespace -n names, e.g. tandem.io/inject=proxy (namespace defaults and sidecars' namespaces selectors read them); objects of other namespaces are taken as in namespaces without labels")
	addNativeSidecarsFlag(flags, &o.nativeSidecars, "auto (true without a cluster to ask: Kubernetes >= 1.29)")
}

// resolve checks the flags and returns what the engine is told for cfg.
func (o *offlineFlags) resolve(cfg *config.Config) (explain.Offline, error) {
	native, err := offlineNativeSidecars(o.nativeSidecars)
	if err != nil {
		return explain.Offline{}, err
	}
	return explain.Offline{
		Config: cfg, Namespace: o.namespace, NamespaceLabels: o.namespaceLabels,
		Options: inject.Options{NativeSidecars: native},
	}, nil
}

// readManifests reads the manifests of file (- for stdin); errors name the file.
func readManifests(stdin io.Reader, file string) ([]manifest.Document, error) {
	data, err := readInput(stdin, file)
	if err != nil {
		return nil, err
	}
	docs, err := manifest.Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return docs, nil
}

func readInput(stdin io.Reader, file string) ([]byte, error) {
	r := stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", file, maxManifestSize>>20)
	}
	return data, nil
}

// warnTo writes the warnings of inject and explain, one a line, on stderr.
func warnTo(stderr io.Writer) manifest.WarnFunc {
	return func(msg string) { fmt.Fprintln(stderr, "warning:", msg) }
}
