package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tandem-io/tandem/internal/image"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// Tags of the test images.
const (
	PauseTag = "registry.k8s.io/pause:3.10" // containerd's sandbox image and the seed Deployment's container
	ProxyTag = "tandem.local/demo-proxy:dev"
	// ProxyV2Tag is the demo proxy again, as a distinct image (its version label differs),
	// for tests that upgrade a sidecar's image.
	ProxyV2Tag = "tandem.local/demo-proxy:v2"
	AppTag     = "tandem.local/demo-app:dev"
	LogsTag    = "tandem.local/demo-logs:dev"
	WriteTag   = "tandem.local/demo-write:dev"
	// TandemTag is what the tests call Tandem's own image.
	TandemTag = "tandem.local/tandem:e2e"
)

// BuildAll compiles test/images/pause and test/images/demo into dir, for linux and this
// machine's architecture, and writes all six images into one docker-archive tarball in
// dir, whose path it returns. The demo images share the /demo binary, and so their
// one layer; each has its own entrypoint, ["/demo", ROLE], and runs as 65532:65532.
func BuildAll(ctx context.Context, dir string) (string, error) {
	root := tandemtest.RepoFile()
	pause, demo := filepath.Join(dir, "pause"), filepath.Join(dir, "demo")
	for bin, pkg := range map[string]string{pause: "./test/images/pause", demo: "./test/images/demo"} {
		if err := buildStatic(ctx, root, bin, pkg); err != nil {
			return "", err
		}
	}
	tarball := filepath.Join(dir, "images.tar")
	if _, err := image.Write(tarball, specs(pause, demo)...); err != nil {
		return "", err
	}
	return tarball, nil
}

// BuildTandem builds Tandem's own image into dir as `make image` does, with the same
// tool (hack/image) from a static binary, tagged tag (TandemTag, or the name a manifest
// uses) and labelled version "e2e", and returns the tarball's path.
func BuildTandem(ctx context.Context, dir, tag string) (string, error) {
	root := tandemtest.RepoFile()
	bin := filepath.Join(dir, "tandem-static")
	tarball := filepath.Join(dir, "tandem-image-"+strings.NewReplacer("/", "_", ":", "_").Replace(tag)+".tar")
	if _, err := os.Stat(bin); err != nil {
		if err := buildStatic(ctx, root, bin, "./cmd/tandem"); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./hack/image", "-binary", bin, "-tag", tag, "-o", tarball, "-version", "e2e")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go run ./hack/image: %v\n%s", err, out)
	}
	return tarball, nil
}

// buildStatic builds a binary without cgo or anything of this machine in it but GOARCH,
// so that it runs in an empty image and two builds of a tree are alike.
func buildStatic(ctx context.Context, root, bin, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return nil
}

func specs(pause, demo string) []image.Spec {
	// Unix 0, not now: the same tree gives the same images, which a node then need not import twice.
	epoch := time.Unix(0, 0)
	all := []image.Spec{{
		Tag:        PauseTag,
		Binary:     pause,
		Path:       "/pause",
		Entrypoint: []string{"/pause"},
		User:       "65535:65535", // as the real pause image
		Created:    epoch,
	}}
	for tag, role := range map[string]string{ProxyTag: "proxy", AppTag: "app", LogsTag: "logs", WriteTag: "write"} {
		all = append(all, image.Spec{
			Tag:        tag,
			Binary:     demo,
			Path:       "/demo",
			Entrypoint: []string{"/demo", role},
			User:       "65532:65532",
			Labels:     map[string]string{"org.opencontainers.image.title": "tandem-demo-" + role},
			Created:    epoch,
		})
	}
	return append(all, image.Spec{
		Tag:        ProxyV2Tag,
		Binary:     demo,
		Path:       "/demo",
		Entrypoint: []string{"/demo", "proxy"},
		User:       "65532:65532",
		Labels:     map[string]string{"org.opencontainers.image.title": "tandem-demo-proxy", "org.opencontainers.image.version": "v2"},
		Created:    epoch,
	})
}
