package images

import (
	"context"
	"crypto/sha256"
	"os"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuildAll(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles two binaries")
	}
	file, err := BuildAll(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]struct {
		entrypoint []string
		user       string
	}{
		PauseTag:   {[]string{"/pause"}, "65535:65535"},
		ProxyTag:   {[]string{"/demo", "proxy"}, "65532:65532"},
		ProxyV2Tag: {[]string{"/demo", "proxy"}, "65532:65532"},
		AppTag:     {[]string{"/demo", "app"}, "65532:65532"},
		LogsTag:    {[]string{"/demo", "logs"}, "65532:65532"},
		WriteTag:   {[]string{"/demo", "write"}, "65532:65532"},
	} {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(file, &ref)
		if err != nil {
			t.Errorf("%s: %v", tag, err)
			continue
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.entrypoint, cf.Config.Entrypoint); diff != "" {
			t.Errorf("%s: entrypoint (-want +got):\n%s", tag, diff)
		}
		if cf.Config.User != want.user || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
			t.Errorf("%s: user %q on %s/%s, want %q on linux/%s", tag, cf.Config.User, cf.OS, cf.Architecture, want.user, runtime.GOARCH)
		}
	}
}

// The same tree gives the same tarball, so a node need not import it again.
func TestBuildAllIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles two binaries twice")
	}
	var sums [2][32]byte
	for i := range sums {
		file, err := BuildAll(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		content, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = sha256.Sum256(content)
	}
	if sums[0] != sums[1] {
		t.Error("two builds of the same tree gave different tarballs")
	}
}
