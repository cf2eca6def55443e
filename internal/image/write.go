package image

import (
	"archive/tar"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Write writes the images specs describe into one docker-archive tarball at file, each
// under its tag, and returns their manifest digests by tag. Tags must name a registry and
// a tag (e.g. "tandem.local/demo-app:dev"), so no tool normalises them differently.
//
// The layout is tarball.MultiWrite's, but its entries come in tag order: MultiWrite
// ranges over a map, so with several images no two tarballs would be byte-identical.
// A layer that several images share is stored once.
func Write(file string, specs ...Spec) (map[string]v1.Hash, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("write %s: no images", file)
	}
	specs = slices.SortedFunc(slices.Values(specs), func(a, b Spec) int { return cmp.Compare(a.Tag, b.Tag) })
	refs := make(map[name.Reference]v1.Image, len(specs))
	digests := make(map[string]v1.Hash, len(specs))
	for _, s := range specs {
		if _, dup := digests[s.Tag]; dup {
			return nil, fmt.Errorf("write %s: tag %s appears twice", file, s.Tag)
		}
		tag, err := name.NewTag(s.Tag, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("image %s from %s: %w", s.Tag, s.Binary, err)
		}
		img, err := Build(s)
		if err != nil {
			return nil, err
		}
		if digests[s.Tag], err = img.Digest(); err != nil {
			return nil, fmt.Errorf("image %s from %s: %w", s.Tag, s.Binary, err)
		}
		refs[tag] = img
	}
	if err := writeFile(file, refs); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	return digests, nil
}

// writeFile replaces file only once the whole tarball is written, so an interrupted
// build leaves no truncated archive for `docker load` to choke on.
func writeFile(file string, refs map[name.Reference]v1.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	err = writeArchive(tmp, refs)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	return err
}

// writeArchive writes each image's config and layers in the order of manifest.json
// (which ComputeManifest sorts by tag), then manifest.json itself.
func writeArchive(w io.Writer, refs map[name.Reference]v1.Image) error {
	manifest, err := tarball.ComputeManifest(refs)
	if err != nil {
		return err
	}
	byConfig := make(map[string]v1.Image, len(refs))
	for _, img := range refs {
		cfg, err := img.ConfigName()
		if err != nil {
			return err
		}
		byConfig[cfg.String()] = img
	}
	tw := tar.NewWriter(w)
	written := map[string]bool{}
	for _, d := range manifest {
		if err := writeImage(tw, d, byConfig[d.Config], written); err != nil {
			return err
		}
	}
	m, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := writeEntry(tw, "manifest.json", bytes.NewReader(m), int64(len(m))); err != nil {
		return err
	}
	return tw.Close()
}

// writeImage writes the blobs of one manifest.json entry that are not written yet.
func writeImage(tw *tar.Writer, d tarball.Descriptor, img v1.Image, written map[string]bool) error {
	if img == nil {
		return errors.New("manifest.json names a config of no image: " + d.Config)
	}
	if !written[d.Config] {
		raw, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		if err := writeEntry(tw, d.Config, bytes.NewReader(raw), int64(len(raw))); err != nil {
			return err
		}
		written[d.Config] = true
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for i, file := range d.Layers {
		if written[file] {
			continue
		}
		if err := writeLayer(tw, file, layers[i]); err != nil {
			return err
		}
		written[file] = true
	}
	return nil
}

func writeLayer(tw *tar.Writer, file string, l v1.Layer) error {
	size, err := l.Size()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	return writeEntry(tw, file, rc, size)
}

// writeEntry uses tarball.Write's header, nothing more: no time, no owner.
func writeEntry(tw *tar.Writer, file string, r io.Reader, size int64) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: file, Mode: 0o644, Size: size}); err != nil {
		return err
	}
	_, err := io.Copy(tw, r)
	return err
}
