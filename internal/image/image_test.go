package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// created is deliberately in a non-UTC zone and has nanoseconds: neither may leak.
var created = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

func spec(t *testing.T, tag, content string) Spec {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(bin, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return Spec{
		Tag:        tag,
		Binary:     bin,
		Path:       "/usr/local/bin/tandem",
		Entrypoint: []string{"/usr/local/bin/tandem"},
		Cmd:        []string{"serve"},
		User:       "65532:65532",
		Env:        []string{"PATH=/usr/local/bin"},
		Labels:     map[string]string{"org.opencontainers.image.title": "tandem"},
		Created:    created,
	}
}

func digest(t *testing.T, s Spec) v1.Hash {
	t.Helper()
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fileSum(t *testing.T, file string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestBuildIsReproducible(t *testing.T) {
	s := spec(t, "tandem.local/tandem:dev", "binary v1")
	if a, b := digest(t, s), digest(t, s); a != b {
		t.Errorf("same spec, two digests: %s and %s", a, b)
	}
	changed := spec(t, s.Tag, "binary v2")
	if digest(t, s) == digest(t, changed) {
		t.Error("a changed binary kept the digest")
	}
	later := s
	later.Created = created.Add(time.Second)
	if digest(t, s) == digest(t, later) {
		t.Error("a changed creation time kept the digest")
	}
}

func TestWriteIsReproducible(t *testing.T) {
	a := spec(t, "tandem.local/a:dev", "binary a")
	b := spec(t, "tandem.local/b:dev", "binary b")
	dir := t.TempDir()
	first, second := filepath.Join(dir, "1.tar"), filepath.Join(dir, "2.tar")
	d1, err := Write(first, a, b)
	if err != nil {
		t.Fatal(err)
	}
	// The other order too: the tarball must not depend on it, nor on map iteration.
	d2, err := Write(second, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if fileSum(t, first) != fileSum(t, second) {
		t.Error("the same images gave two different tarballs")
	}
	if diff := cmp.Diff(d1, d2); diff != "" {
		t.Errorf("digests differ (-first +second):\n%s", diff)
	}
	if d1[a.Tag] != digest(t, a) {
		t.Errorf("Write's digest for %s is %s, Build's %s", a.Tag, d1[a.Tag], digest(t, a))
	}
}

// One image: the very bytes tarball.Write produces, so the format is the library's.
func TestWriteMatchesTarballWrite(t *testing.T) {
	s := spec(t, "ghcr.io/tandem-io/tandem:v1.2.3", "binary")
	file := filepath.Join(t.TempDir(), "image.tar")
	if _, err := Write(file, s); err != nil {
		t.Fatal(err)
	}
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	tag, err := name.NewTag(s.Tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.Write(tag, img, &want); err != nil {
		t.Fatal(err)
	}
	if fileSum(t, file) != sha256.Sum256(want.Bytes()) {
		t.Error("Write and tarball.Write differ for one image")
	}
}

func TestWriteReadsBack(t *testing.T) {
	specs := []Spec{
		spec(t, "ghcr.io/tandem-io/tandem:v1.2.3", "tandem binary"),
		spec(t, "tandem.local/demo-proxy:dev", "demo binary"),
	}
	specs[1].Path, specs[1].Entrypoint, specs[1].Cmd = "/demo", []string{"/demo", "proxy"}, nil
	file := filepath.Join(t.TempDir(), "images.tar")
	digests, err := Write(file, specs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		t.Run(s.Tag, func(t *testing.T) {
			tag, err := name.NewTag(s.Tag)
			if err != nil {
				t.Fatal(err)
			}
			img, err := tarball.ImageFromPath(file, &tag)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := img.Digest(); err != nil || d != digests[s.Tag] {
				t.Errorf("read back digest %s (%v), Write said %s", d, err, digests[s.Tag])
			}
			checkConfig(t, img, s)
			checkLayer(t, img, s)
		})
	}
	if diff := cmp.Diff([]string{specs[0].Tag, specs[1].Tag}, repoTags(t, file)); diff != "" {
		t.Errorf("manifest.json RepoTags (-want +got):\n%s", diff)
	}
}

func checkConfig(t *testing.T, img v1.Image, s Spec) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{User: s.User, Entrypoint: s.Entrypoint, Cmd: s.Cmd, Env: s.Env, Labels: s.Labels}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	wantTime := time.Date(2026, 3, 14, 14, 9, 26, 0, time.UTC)
	if !cf.Created.Equal(wantTime) || len(cf.History) != 1 || !cf.History[0].Created.Equal(wantTime) {
		t.Errorf("created %v, history %+v; want %v for both", cf.Created, cf.History, wantTime)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"created":"2026-03-14T14:09:26Z"`)) {
		t.Errorf("config does not record the creation time in UTC seconds: %s", raw)
	}
}

func checkLayer(t *testing.T, img v1.Image, s Spec) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	wantBinary, err := os.ReadFile(s.Binary)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || !h.ModTime.Equal(fixedTime(created)) {
			t.Errorf("%s: mode %o, owner %d:%d %q, mtime %v", h.Name, h.Mode, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
		if h.Name == strings.TrimPrefix(s.Path, "/") {
			got, _ := io.ReadAll(tr)
			if !bytes.Equal(got, wantBinary) || h.Typeflag != tar.TypeReg {
				t.Errorf("%s holds %q (type %c), want the binary %q", h.Name, got, h.Typeflag, wantBinary)
			}
		}
	}
	if last := names[len(names)-1]; last != strings.TrimPrefix(s.Path, "/") {
		t.Errorf("layer entries %q do not end with the binary at %s", names, s.Path)
	}
}

// repoTags reads manifest.json itself, with the key names `docker load` expects, and
// checks each entry names a config and one layer.
func repoTags(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct {
			Config           string
			RepoTags, Layers []string
		}
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, d := range m {
			if d.Config == "" || len(d.Layers) != 1 {
				t.Errorf("manifest.json entry %+v", d)
			}
			tags = append(tags, d.RepoTags...)
		}
		return tags
	}
	t.Fatal("no manifest.json")
	return nil
}

func TestSharedLayerIsStoredOnce(t *testing.T) {
	a := spec(t, "tandem.local/demo-app:dev", "demo")
	b := a
	b.Tag, b.Entrypoint = "tandem.local/demo-logs:dev", []string{"/demo", "logs"}
	file := filepath.Join(t.TempDir(), "images.tar")
	if _, err := Write(file, a, b); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var layers int
	tr := tar.NewReader(f)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if strings.HasSuffix(h.Name, ".tar.gz") {
			layers++
		}
	}
	if layers != 1 {
		t.Errorf("%d layer files for two images of one binary, want 1", layers)
	}
}

func TestErrorsNameSpecAndFile(t *testing.T) {
	good := spec(t, "tandem.local/good:dev", "x")
	missing := good
	missing.Tag, missing.Binary = "tandem.local/missing:dev", "/nonexistent/binary"
	badPath := good
	badPath.Tag, badPath.Path = "tandem.local/bad-path:dev", "usr/bin/x"
	out := filepath.Join(t.TempDir(), "out.tar")
	for _, tc := range []struct {
		specs []Spec
		want  []string
	}{
		{[]Spec{good, missing}, []string{"tandem.local/missing:dev", "/nonexistent/binary"}},
		{[]Spec{badPath}, []string{"tandem.local/bad-path:dev", "usr/bin/x"}},
		{[]Spec{{Tag: "no-tag", Binary: good.Binary, Path: "/x"}}, []string{"no-tag", good.Binary}},
		{[]Spec{good, good}, []string{good.Tag, "twice", out}},
		{nil, []string{out, "no images"}},
	} {
		_, err := Write(out, tc.specs...)
		if err == nil {
			t.Errorf("Write(%v) succeeded", tc.specs)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Write left %s behind (%v)", out, err)
	}
}

func TestWriteToMissingDirectoryFails(t *testing.T) {
	out := filepath.Join(t.TempDir(), "no", "such", "dir", "out.tar")
	_, err := Write(out, spec(t, "tandem.local/x:dev", "x"))
	if err == nil || !strings.Contains(err.Error(), out) {
		t.Errorf("err = %v, want one naming %s", err, out)
	}
}
