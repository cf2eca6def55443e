package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Spec is one single-layer image: a static binary on an empty base.
type Spec struct {
	Tag        string // e.g. "ghcr.io/tandem-io/tandem:v1.2.3"
	Binary     string // path of a static binary on disk
	Path       string // where it goes in the image, e.g. "/usr/local/bin/tandem"
	Entrypoint []string
	Cmd        []string
	User       string            // e.g. "65532:65532"
	Env        []string          // e.g. "PATH=/usr/local/bin"
	Labels     map[string]string // OCI labels
	// Created is the image's creation time and every file's mtime. Callers pass a fixed
	// time (the commit's), never time.Now, or no two builds are alike.
	Created time.Time
	// Architecture is the binary's GOARCH; empty means runtime.GOARCH.
	Architecture string
}

// Build returns the image s describes. The binary is read into memory once.
func Build(s Spec) (v1.Image, error) {
	img, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("image %s from %s: %w", s.Tag, s.Binary, err)
	}
	return img, nil
}

func build(s Spec) (v1.Image, error) {
	created := v1.Time{Time: fixedTime(s.Created)}
	layer, err := binaryLayer(s.Binary, s.Path, created.Time)
	if err != nil {
		return nil, err
	}
	img, err := mutate.ConfigFile(empty.Image, configFile(s, created))
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "COPY " + path.Base(s.Path) + " " + s.Path,
			Comment:   "github.com/tandem-io/tandem/internal/image",
		},
	})
}

// fixedTime drops what JSON and tar would otherwise record differently on another
// machine: the local time zone and sub-second precision.
func fixedTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Second)
}

func configFile(s Spec, created v1.Time) *v1.ConfigFile {
	arch := s.Architecture
	if arch == "" {
		arch = runtime.GOARCH
	}
	return &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      created,
		Config: v1.Config{
			User:       s.User,
			Entrypoint: s.Entrypoint,
			Cmd:        s.Cmd,
			Env:        s.Env,
			Labels:     s.Labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
}

// binaryLayer is a layer holding the binary at dest and its parent directories, all
// owned by root with mtime created, so nothing about the build machine leaks in.
func binaryLayer(binary, dest string, created time.Time) (v1.Layer, error) {
	if !path.IsAbs(dest) || path.Clean(dest) != dest || dest == "/" {
		return nil, fmt.Errorf("path %q is not a clean absolute file path", dest)
	}
	content, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	name := strings.TrimPrefix(dest, "/")
	for _, dir := range parents(name) {
		if err := tw.WriteHeader(header(dir+"/", tar.TypeDir, 0, created)); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(header(name, tar.TypeReg, int64(len(content)), created)); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer)), nil
	}, tarball.WithCompressedCaching)
}

// parents lists the directories above name, outermost first: "a/b/c" gives "a", "a/b".
func parents(name string) []string {
	var dirs []string
	for i, c := range name {
		if c == '/' {
			dirs = append(dirs, name[:i])
		}
	}
	return dirs
}

func header(name string, kind byte, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: kind,
		Name:     name,
		Size:     size,
		Mode:     0o755,
		Uid:      0,
		Gid:      0,
		ModTime:  mtime,
	}
}
