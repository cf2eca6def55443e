package e2e

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/version"

	"github.com/tandem-io/tandem/internal/capabilities"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// can is one row of docs/install.md's table "Supported Kubernetes versions": what
// Tandem finds a Kubernetes minor can do.
type can struct {
	nativeSidecars, nativeSidecarImages, matchConditions, resize, policies bool
}

// supported are the minors Tandem is tested on (make e2e-versions), as the table says.
var supported = map[string]can{
	"1.30": {nativeSidecars: true, matchConditions: true},
	"1.33": {nativeSidecars: true, nativeSidecarImages: true, matchConditions: true, resize: true},
	"1.37": {nativeSidecars: true, nativeSidecarImages: true, matchConditions: true, resize: true, policies: true},
}

// TestServerCapabilities asks the API server what it can do, as tandem serve, rollout
// and explain do, and checks it against the table for its minor: run on every version of
// the matrix, each cell of the table comes from this test. tandem compile, pointed at
// the cluster, says the same of the policies.
func TestServerCapabilities(t *testing.T) {
	found, err := capabilities.Detect(t.Context(), client.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	v, err := version.ParseGeneric(found.Version)
	if err != nil {
		t.Fatal(err)
	}
	minor := fmt.Sprintf("%d.%d", v.Major(), v.Minor())
	want, ok := supported[minor]
	if !ok {
		t.Fatalf("Kubernetes %s is not in the table of supported versions: add a row to docs/install.md and to supported", found.Version)
	}
	got := can{found.NativeSidecars, found.NativeSidecarImages, found.MatchConditions, found.Resize, found.Policies()}
	if got != want {
		t.Errorf("Kubernetes %s can %+v; the table says %+v", found.Version, got, want)
	}
	t.Logf("Kubernetes %s: %+v, MutatingAdmissionPolicy served as %v", found.Version, got, found.PolicyVersions)

	compile := exec.CommandContext(t.Context(), bin, "compile", "--kubeconfig", cp.KubeconfigPath)
	out, err := compile.CombinedOutput()
	switch {
	case want.policies && err != nil:
		t.Errorf("tandem compile --kubeconfig refuses Kubernetes %s, which serves the policies: %v\n%s", found.Version, err, out)
	case !want.policies && (err == nil || !strings.Contains(string(out), "Kubernetes "+found.Version+" serves no MutatingAdmissionPolicy")):
		t.Errorf("tandem compile --kubeconfig on Kubernetes %s: %v; want it refused with why:\n%s", found.Version, err, out)
	case !want.policies && strings.Contains(string(out), "apiVersion:"):
		t.Errorf("a refused tandem compile wrote policies:\n%s", out)
	}
}

// supportedRow is a row of the table: | 1.30 | yes … | no: … | … |.
var supportedRow = regexp.MustCompile(`^\| (1\.\d+) \|`)

// TestSupportedVersionsAreDocumented keeps the table, the versions the harness pins
// (hack/k8s-binaries.sh --versions) and the chart's kubeVersion (the oldest) in step.
func TestSupportedVersionsAreDocumented(t *testing.T) {
	doc, err := os.Open(tandemtest.RepoFile("docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	yes := func(cell string) bool { return strings.HasPrefix(strings.TrimSpace(cell), "yes") }
	documented := map[string]can{}
	lines := bufio.NewScanner(doc)
	for lines.Scan() {
		m := supportedRow.FindStringSubmatch(lines.Text())
		if m == nil {
			continue
		}
		cells := strings.Split(strings.Trim(lines.Text(), "|"), "|")
		if len(cells) != 6 {
			t.Fatalf("docs/install.md: %q has %d cells, want 6", lines.Text(), len(cells))
		}
		documented[m[1]] = can{yes(cells[1]), yes(cells[2]), yes(cells[3]), yes(cells[4]), yes(cells[5])}
	}
	for minor, want := range supported {
		if got, ok := documented[minor]; !ok || got != want {
			t.Errorf("docs/install.md says Kubernetes %s can %+v (documented: %v), the tests %+v", minor, got, ok, want)
		}
	}
	for minor := range documented {
		if _, ok := supported[minor]; !ok {
			t.Errorf("docs/install.md lists Kubernetes %s, which no test runs on", minor)
		}
	}

	pinned, err := exec.CommandContext(t.Context(), tandemtest.RepoFile("hack", "k8s-binaries.sh"), "--versions").Output()
	if err != nil {
		t.Fatal(err)
	}
	var minors []string
	for _, v := range strings.Fields(string(pinned)) {
		parsed := version.MustParseGeneric(v)
		minors = append(minors, fmt.Sprintf("%d.%d", parsed.Major(), parsed.Minor()))
	}
	want := slices.Sorted(maps.Keys(supported))
	if !slices.Equal(minors, want) {
		t.Errorf("hack/k8s-binaries.sh pins %v, the table lists %v", minors, want)
	}

	chart, err := os.ReadFile(tandemtest.RepoFile("deploy", "charts", "tandem", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	oldest := `kubeVersion: ">=` + want[0] + `.0-0"`
	if !strings.Contains(string(chart), "\n"+oldest+"\n") {
		t.Errorf("Chart.yaml does not say %s, the oldest version tested", oldest)
	}
}
