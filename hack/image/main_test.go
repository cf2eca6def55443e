package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestRunWritesTheImage(t *testing.T) {
	dir := t.TempDir()
	bin, out := filepath.Join(dir, "tandem"), filepath.Join(dir, "image.tar")
	if err := os.WriteFile(bin, []byte("a static binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	const tag = "ghcr.io/tandem-io/tandem:v1.2.3"
	var stdout, stderr bytes.Buffer
	args := []string{"-binary", bin, "-tag", tag, "-o", out, "-version", "v1.2.3", "-revision", "abc123", "-created", "1700000000"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &ref)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stdout.String(), tag+" "+digest.String()+"\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		User:       "65532:65532",
		Entrypoint: []string{"/usr/local/bin/tandem"},
		Env:        []string{"PATH=/usr/local/bin"},
		// No licenses label: the repository has no LICENSE to name.
		Labels: map[string]string{
			"org.opencontainers.image.title":    "tandem",
			"org.opencontainers.image.version":  "v1.2.3",
			"org.opencontainers.image.revision": "abc123",
			"org.opencontainers.image.source":   "https://github.com/tandem-io/tandem",
		},
	}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if !cf.Created.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("created %v, want the -created time", cf.Created)
	}
}

func TestRunRefusesMissingFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-tag", "ghcr.io/tandem-io/tandem:dev"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "usage") {
		t.Errorf("stderr %q has no usage", &stderr)
	}
}

// The Dockerfile builds by hand what hack/image builds; the two must not drift.
func TestDockerfileFinalStageMatches(t *testing.T) {
	stage := finalStage(t, filepath.Join("..", "..", "Dockerfile"))
	if got := stage["FROM"]; len(got) != 1 || got[0] != "scratch" {
		t.Errorf("final stage FROM %q, want scratch: the image holds only the binary", got)
	}
	copies := stage["COPY"]
	if len(copies) != 1 || !strings.HasPrefix(copies[0], "--from=build ") || !strings.HasSuffix(copies[0], " "+binaryPath) {
		t.Errorf("COPY %q, want one copy from the build stage to %s", copies, binaryPath)
	}
	if got := stage["ENV"]; len(got) != 1 || got[0] != pathEnv {
		t.Errorf("ENV %q, want %s", got, pathEnv)
	}
	if got := stage["USER"]; len(got) != 1 || got[0] != user {
		t.Errorf("USER %q, want %s", got, user)
	}
	var entrypoint []string
	if got := stage["ENTRYPOINT"]; len(got) != 1 || json.Unmarshal([]byte(got[0]), &entrypoint) != nil {
		t.Fatalf("ENTRYPOINT %q is not one exec-form array", got)
	}
	if diff := cmp.Diff(spec(options{}).Entrypoint, entrypoint); diff != "" {
		t.Errorf("ENTRYPOINT (-hack/image +Dockerfile):\n%s", diff)
	}
	labels := dockerLabels(stage["LABEL"])
	for key, want := range map[string]string{"org.opencontainers.image.title": title, "org.opencontainers.image.source": source} {
		if labels[key] != want {
			t.Errorf("LABEL %s=%q, want %q", key, labels[key], want)
		}
	}
	for _, key := range []string{"org.opencontainers.image.version", "org.opencontainers.image.revision"} {
		if _, ok := labels[key]; !ok {
			t.Errorf("no LABEL %s", key)
		}
	}
}

// Every image the Dockerfile builds from is pinned by digest, so that the Docker path
// is as repeatable as make image; the Go builder is the go line of go.mod.
func TestDockerfileBaseImagesArePinned(t *testing.T) {
	goVersion := goModVersion(t)
	var builders int
	for i, stage := range stages(t, filepath.Join("..", "..", "Dockerfile")) {
		fields := strings.Fields(stage["FROM"][0])
		fields = slices.DeleteFunc(fields, func(f string) bool { return strings.HasPrefix(f, "--") })
		image := fields[0]
		if image == "scratch" {
			continue
		}
		ref, err := name.NewDigest(image)
		if err != nil {
			t.Errorf("stage %d: FROM %s is not pinned by digest (IMAGE:TAG@sha256:...): %v", i, image, err)
			continue
		}
		repo, tag, _ := strings.Cut(strings.TrimSuffix(image, "@"+ref.DigestStr()), ":")
		if repo != "golang" {
			continue
		}
		builders++
		if version, _, _ := strings.Cut(tag, "-"); version != goVersion {
			t.Errorf("stage %d: FROM %s builds with Go %s; go.mod says go %s", i, image, version, goVersion)
		}
	}
	if builders == 0 {
		t.Error("no stage builds FROM golang:...")
	}
}

// goModVersion is the version of the go line of the repository's go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return v
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// finalStage returns the instructions of the Dockerfile's last stage.
func finalStage(t *testing.T, file string) map[string][]string {
	t.Helper()
	all := stages(t, file)
	if len(all) == 0 {
		t.Fatalf("%s has no FROM", file)
	}
	return all[len(all)-1]
}

// stages returns the instructions of each stage of a Dockerfile (from its FROM,
// inclusive), by keyword; continuation lines are joined and comments dropped.
func stages(t *testing.T, file string) []map[string][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all []map[string][]string
	var line string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line += cont + " "
			continue
		}
		line += text
		keyword, rest, _ := strings.Cut(line, " ")
		keyword, rest, line = strings.ToUpper(keyword), strings.TrimSpace(rest), ""
		if keyword == "FROM" {
			all = append(all, map[string][]string{})
		}
		if keyword != "" && len(all) > 0 {
			all[len(all)-1][keyword] = append(all[len(all)-1][keyword], rest)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return all
}

// dockerLabels reads LABEL key="value" pairs; the Dockerfile's values hold no spaces.
func dockerLabels(instructions []string) map[string]string {
	labels := map[string]string{}
	for _, instruction := range instructions {
		for _, pair := range strings.Fields(instruction) {
			key, value, _ := strings.Cut(pair, "=")
			labels[key] = strings.Trim(value, `"`)
		}
	}
	return labels
}
