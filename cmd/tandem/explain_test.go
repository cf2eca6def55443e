package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/internal/explain"
	"github.com/tandem-io/tandem/internal/inject"
)

// runExplain runs the command line in-process and returns the exit status the process
// would end with: the one explain passes to exit, else main's 1 for an error, else 0.
func runExplain(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, err := run(t, stdin, args...)
	var status *exitStatus
	switch {
	case errors.As(err, &status):
		code = status.code
	case err != nil:
		code = 1
	}
	return stdout, stderr, code
}

const (
	wantsSeed      = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {tandem.io/inject: seed}}\nspec: {containers: [{name: a, image: b}]}\n"
	asksNothing    = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b}]}\n"
	hostNetworkPod = "apiVersion: v1\nkind: Pod\nmetadata: {name: h, annotations: {tandem.io/inject: 'seed,proxy'}}\nspec: {hostNetwork: true, containers: [{name: a, image: b}]}\n"
)

func TestExplainExitStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok.yaml", wantsSeed+"---\n"+asksNothing)
	host := write("host.yaml", wantsSeed+"---\n"+hostNetworkPod)
	unknown := write("unknown.yaml", "kind: Pod\nmetadata: {name: p, annotations: {tandem.io/inject: envoy}}\nspec: {containers: [{name: a}]}\n")
	broken := write("broken.yaml", "kind: Pod\nmetadata: [\n")
	kindless := write("kindless.yaml", "metadata: {name: p}\n")
	badConfig := write("config.yaml", "sidecars:\n- name: x\n  bogus: 1\n")
	tests := map[string]struct {
		stdin  string
		args   []string
		code   int
		stderr string // a part of it
	}{
		"every pod gets its sidecars":               {args: []string{"explain", "-f", ok}, code: 0},
		"the default, proxy, would be skipped":      {args: []string{"explain", "-f", host}, code: 1, stderr: "do not get every sidecar"},
		"an unknown sidecar is denied":              {args: []string{"explain", "-f", unknown, "-o", "json"}, code: 1},
		"a namespace default reaches a bare pod":    {stdin: asksNothing, args: []string{"explain", "-f", "-", "--namespace-labels", "tandem.io/inject=seed"}, code: 0},
		"a namespace default that is not defined":   {stdin: asksNothing, args: []string{"explain", "-f", "-", "--namespace-labels", "tandem.io/inject=envoy"}, code: 1},
		"inject's flags":                            {stdin: wantsSeed, args: []string{"explain", "-f", "-", "-n", "shop", "--native-sidecars=false", "-o", "yaml"}, code: 0},
		"malformed YAML":                            {args: []string{"explain", "-f", broken}, code: 2, stderr: "document 1: not valid YAML"},
		"an object without a kind":                  {args: []string{"explain", "-f", kindless}, code: 2, stderr: "the object has no kind"},
		"a broken config":                           {args: []string{"explain", "-f", ok, "--config", badConfig}, code: 2, stderr: `sidecar "x": bogus: unknown field`},
		"a missing config":                          {args: []string{"explain", "-f", ok, "--config", filepath.Join(dir, "absent.yaml")}, code: 2, stderr: "no such file"},
		"a missing file":                            {args: []string{"explain", "-f", filepath.Join(dir, "absent.yaml")}, code: 2, stderr: "no such file"},
		"empty input":                               {stdin: "\n", args: []string{"explain", "-f", "-"}, code: 2, stderr: "-: no Kubernetes objects"},
		"only comments":                             {stdin: "# nothing\n---\n", args: []string{"explain", "-f", "-"}, code: 2, stderr: "-: no Kubernetes objects"},
		"a cluster without a config":                {args: []string{"explain", "pod", "web"}, code: 2, stderr: "no --config: against a cluster, tandem explain needs"},
		"a bad --native-sidecars":                   {stdin: wantsSeed, args: []string{"explain", "-f", "-", "--native-sidecars=yes"}, code: 2, stderr: `--native-sidecars must be one of auto, true, false, not "yes"`},
		"no input":                                  {args: []string{"explain"}, code: 2, stderr: "explain needs -f FILE"},
		"a bad output format":                       {args: []string{"explain", "-f", ok, "-o", "xml"}, code: 2, stderr: `--output must be one of text, json, yaml, not "xml"`},
		"an unknown flag":                           {args: []string{"explain", "-f", ok, "--bogus"}, code: 2, stderr: "unknown flag: --bogus"},
		"a mistyped subcommand":                     {args: []string{"explain", "pods", "web"}, code: 2, stderr: `unknown command "pods"`},
		"pod without a name":                        {args: []string{"explain", "pod"}, code: 2, stderr: "takes one argument, the pod's name; got 0"},
		"namespace with two names":                  {args: []string{"explain", "namespace", "a", "b"}, code: 2, stderr: "takes one argument, the namespace's name; got 2"},
		"an offline flag on a live command":         {args: []string{"explain", "pod", "web", "-f", ok}, code: 2, stderr: "unknown shorthand flag: 'f'"},
		"a kubeconfig that is not there":            {args: []string{"explain", "pod", "web", "--config", "builtin:example", "--kubeconfig", filepath.Join(dir, "absent")}, code: 2, stderr: "kubeconfig:"},
		"a bad output format before any cluster":    {args: []string{"explain", "namespace", "shop", "-o", "xml"}, code: 2, stderr: "--output must be one of"},
		"a broken config before reaching a cluster": {args: []string{"explain", "namespace", "shop", "--config", badConfig}, code: 2, stderr: "bogus: unknown field"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := runExplain(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit status %d, stderr %q; want %d and %q\nstdout:\n%s", code, stderr, tc.code, tc.stderr, out)
			}
			if (code == 2) != (out == "") {
				t.Errorf("want output exactly when explain could say (status 0 or 1), got status %d and:\n%s", code, out)
			}
		})
	}
}

func TestExplainTextSaysWhy(t *testing.T) {
	out, _, code := runExplain(t, "", "explain", "-f", repoFile("examples", "test.yaml"), "--config", repoFile("examples", "config.yaml"))
	if code != 0 {
		t.Fatalf("exit status %d:\n%s", code, out)
	}
	for _, want := range []string{
		"Deployment default/test, pod template\n",
		"  requested:  seed, proxy, by the pod annotation tandem.io/inject\n",
		"  SIDECAR  DECISION  REASON    MESSAGE\n",
		"  proxy    injected  Injected  injected as requested by the pod annotation tandem.io/inject\n",
		"  proxy.memory    64Mi   config\n",
		"1 pod or template explained; none misses a sidecar it asks for\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The flags explain shares with inject change the explanation as they change injection.
func TestExplainFlagsReachTheEngine(t *testing.T) {
	read := func(t *testing.T, stdin string, args ...string) explain.Pod {
		t.Helper()
		out, stderr, code := runExplain(t, stdin, append([]string{"explain", "-f", "-", "-o", "json"}, args...)...)
		var pods []explain.Pod
		if err := json.Unmarshal([]byte(out), &pods); err != nil || len(pods) != 1 {
			t.Fatalf("status %d, %v, want one pod in:\n%s\n%s", code, err, out, stderr)
		}
		return pods[0]
	}
	p := read(t, asksNothing, "--namespace-labels", "tandem.io/inject=seed.logs", "-n", "shop")
	if p.Namespace != "shop" || p.RequestedBy != "the label tandem.io/inject of namespace shop" || strings.Join(p.Requested, ",") != "seed,logs" || !p.OK {
		t.Errorf("want seed and logs asked for by the namespace shop, and given: %+v", p)
	}
	p = read(t, strings.Replace(asksNothing, "name: p}", "name: p, labels: {tandem.io/inject: 'false'}}", 1), "--namespace-labels", "tandem.io/inject=seed")
	if !p.OptedOut || p.Reason != inject.ReasonOptedOut || len(p.Requested) != 0 || !p.OK {
		t.Errorf("want the namespace default refused by the opt-out label: %+v", p)
	}
	p = read(t, wantsSeed, "-n", "elsewhere")
	if p.Namespace != "elsewhere" {
		t.Errorf("a pod without a namespace is in -n's: %+v", p)
	}
	yamlOut, _, _ := runExplain(t, hostNetworkPod, "explain", "-f", "-", "-o", "yaml")
	var fromYAML []explain.Pod
	if err := yaml.UnmarshalStrict([]byte(yamlOut), &fromYAML); err != nil || len(fromYAML) != 1 {
		t.Fatalf("-o yaml: %v\n%s", err, yamlOut)
	}
	if got := fromYAML[0].Sidecars; len(got) != 2 || got[1].Name != "proxy" || got[1].Decision != inject.DecisionSkipped || got[1].Reason != inject.ReasonHostNetwork {
		t.Errorf("want proxy skipped for HostNetwork: %+v", got)
	}
}

// explainLive reads the namespace's real labels and the pods' status annotations, and
// says what each pod carries; a pod that never went through Tandem misses what it asks.
func TestExplainLive(t *testing.T) {
	cfg, err := loadConfig(repoFile("examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"tandem.io/inject": "seed"}}}
	status := `{"sidecars":[{"name":"seed","hash":"` + cfg.Sidecar("seed").LegacyHash + `"}]}`
	pod := func(namespace, name string, annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Annotations: annotations},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}},
		}
	}
	client := fake.NewClientset(ns,
		pod("shop", "web", map[string]string{inject.StatusKey: status}),
		pod("shop", "stale", map[string]string{inject.StatusKey: `{"sidecars":[{"name":"seed","hash":"000000000000"}]}`}),
		pod("shop", "bypassed", nil),
		pod("other", "elsewhere", nil),
	)
	discovery := client.Discovery().(*fakediscovery.FakeDiscovery)
	discovery.FakedServerVersion = &version.Info{GitVersion: "v1.31.0"}
	discovery.Resources = []*metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "pods"}}}}
	pods, err := explainLive(t.Context(), client, cfg, "shop", "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]explain.Pod{}
	var order []string
	for _, p := range pods {
		got[p.Name] = p
		order = append(order, p.Name)
	}
	if strings.Join(order, ",") != "bypassed,stale,web" {
		t.Errorf("pods in the order %v, want the pods of shop by name", order)
	}
	if p := got["web"]; !p.OK || p.Reason != inject.ReasonAlreadyInjected || len(p.Sidecars) != 1 || p.Sidecars[0].Reason != inject.ReasonAlreadyInjected ||
		p.RequestedBy != "the label tandem.io/inject of namespace shop" {
		t.Errorf("web carries the current seed, asked for by the namespace: %+v", p)
	}
	if p := got["stale"]; p.OK || p.Reason != inject.ReasonOutdated || strings.Join(p.Problems, ";") != "seed outdated" {
		t.Errorf("stale carries an older seed: %+v", p)
	}
	if p := got["bypassed"]; p.OK || strings.Join(p.Problems, ";") != "seed not carried (no tandem.io/status)" || !strings.Contains(strings.Join(p.Warnings, "\n"), "Tandem never admitted it") {
		t.Errorf("bypassed never went through Tandem: %+v", p)
	}
	one, err := explainLive(t.Context(), client, cfg, "shop", "web")
	if err != nil || len(one) != 1 || one[0].Name != "web" {
		t.Errorf("explain pod web: %v %+v", err, one)
	}
	if _, err := explainLive(t.Context(), client, cfg, "shop", "absent"); err == nil || !strings.Contains(err.Error(), `reading pod shop/absent`) {
		t.Errorf("a pod that is not there: %v", err)
	}
	if _, err := explainLive(t.Context(), client, cfg, "nowhere", ""); err == nil || !strings.Contains(err.Error(), "reading namespace nowhere") {
		t.Errorf("a namespace that is not there: %v", err)
	}
}
