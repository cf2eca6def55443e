package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/internal/explain"
	"github.com/tandem-io/tandem/internal/inject"
)

// Pods of several namespaces, told -n shop --namespace-labels tandem.io/inject=seed:
// the labels are shop's only, and kube-system's pods are never sent to Tandem.
const threeNamespaces = `apiVersion: v1
kind: Pod
metadata: {name: here}
spec: {containers: [{name: a, image: b}]}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns-1, namespace: kube-system}
spec: {containers: [{name: a, image: b}]}
---
apiVersion: v1
kind: Pod
metadata: {name: there, namespace: elsewhere}
spec: {containers: [{name: a, image: b}]}
---
apiVersion: v1
kind: Pod
metadata: {name: asks, namespace: kube-public, annotations: {tandem.io/inject: seed}}
spec: {containers: [{name: a, image: b}]}
`

const systemWarning = "is never sent to Tandem: the webhook configuration always excludes the system namespaces (kube-system, kube-node-lease, kube-public); left as it is"

func TestNamespaceLabelsAreThoseOfTheNamespaceNamed(t *testing.T) {
	args := []string{"-f", "-", "-n", "shop", "--namespace-labels", "tandem.io/inject=seed"}
	out, stderr, err := run(t, threeNamespaces, append([]string{"inject"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(out, "---\n")
	if len(docs) != 4 || !strings.Contains(docs[0], "foo: bar") {
		t.Fatalf("want the pod of shop injected with seed:\n%s", out)
	}
	for i, doc := range docs[1:] {
		if strings.Contains(doc, "foo: bar") || strings.Contains(doc, "tandem.io/status") {
			t.Errorf("document %d got shop's default or anything at all:\n%s", i+2, doc)
		}
	}
	wantStderr := "warning: document 2 (Pod kube-system/coredns-1): namespace kube-system " + systemWarning + "\n" +
		"warning: document 4 (Pod kube-public/asks): namespace kube-public " + systemWarning + "\n"
	if stderr != wantStderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, wantStderr)
	}

	out, stderr2, code := runExplain(t, threeNamespaces, append([]string{"explain", "-o", "json"}, args...)...)
	var pods []explain.Pod
	if err := json.Unmarshal([]byte(out), &pods); err != nil || len(pods) != 4 {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	if code != 1 || stderr2 != wantStderr+"tandem: "+errExplainMissing.Error()+"\n" {
		t.Errorf("explain: status %d, stderr:\n%s\nwant 1 and inject's warnings", code, stderr2)
	}
	if p := pods[0]; p.Namespace != "shop" || strings.Join(p.Requested, ",") != "seed" || !p.OK {
		t.Errorf("the pod of shop gets seed from shop's label: %+v", p)
	}
	if p := pods[1]; p.Reason != inject.ReasonExcludedNamespace || !p.OK || len(p.Requested) != 0 {
		t.Errorf("the kube-system pod asks nothing of its own and is left alone: %+v", p)
	}
	if p := pods[2]; p.Namespace != "elsewhere" || len(p.Requested) != 0 || !p.OK {
		t.Errorf("the pod of elsewhere is not given shop's labels: %+v", p)
	}
	if p := pods[3]; p.OK || strings.Join(p.Problems, ";") != "seed not injected (ExcludedNamespace)" {
		t.Errorf("a kube-public pod that asks for seed does not get it: %+v", p)
	}
}

// explain gives the warnings inject gives, on the same input: custom workloads injected
// through spec.template, kinds of another group, null List items, system namespaces.
func TestExplainWarnsAsInjectDoes(t *testing.T) {
	in := `apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {annotations: {tandem.io/inject: seed}}
    spec: {containers: [{name: app, image: example.com/app:1.0}]}
---
apiVersion: v1
kind: List
items:
- null
- apiVersion: apps.kruise.io/v1beta1
  kind: StatefulSet
  metadata: {name: db}
  spec: {template: {metadata: {annotations: {tandem.io/inject: seed}}, spec: {containers: [{name: app, image: a}]}}}
- apiVersion: apps/v1
  kind: Pod
  metadata: {name: odd, annotations: {tandem.io/inject: seed}}
  spec: {containers: [{name: app, image: a}]}
- {apiVersion: v1, kind: Pod, metadata: {name: sys, namespace: kube-system}, spec: {containers: [{name: app, image: a}]}}
`
	_, injectWarnings, err := run(t, in, "inject", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	want := `warning: document 1 (DeploymentConfig shop/web): not a kind Tandem knows; injected its spec.template as a pod template
warning: document 2 (List): items[0] is null; left it out of the output
warning: document 2 (List): items[1] (StatefulSet db): not a kind Tandem knows; injected its spec.template as a pod template
warning: document 2 (List): items[2] (Pod odd): not a kind Tandem knows (apps/v1 is not the API group of Pod); left as it is
warning: document 2 (List): items[3] (Pod kube-system/sys): namespace kube-system ` + systemWarning + `
`
	if injectWarnings != want {
		t.Errorf("inject's warnings:\n%s\nwant:\n%s", injectWarnings, want)
	}
	out, explainWarnings, code := runExplain(t, in, "explain", "-f", "-")
	if code != 0 || explainWarnings != want {
		t.Errorf("explain: status %d, warnings:\n%s\nwant 0 and inject's:\n%s\n%s", code, explainWarnings, want, out)
	}
}

// Input without objects is refused by every command that reads manifests, so that no
// command writes what another refuses.
func TestNoObjectsIsOneError(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "---\n# a\n---\n"} {
		for _, cmd := range [][]string{{"inject", "-f", "-"}, {"explain", "-f", "-"}} {
			out, stderr, code := runExplain(t, in, cmd...)
			if code == 0 || out != "" || !strings.Contains(stderr, "tandem: -: no Kubernetes objects in it (it is empty, or holds only comments)") {
				t.Errorf("%s on %q: status %d, stdout %q, stderr %q; want the no-objects error", cmd[0], in, code, out, stderr)
			}
		}
	}
}

// --native-sidecars takes the same values on every command; bare, it means true.
func TestNativeSidecarsIsOneFlag(t *testing.T) {
	for flag, native := range map[string]bool{"--native-sidecars": true, "--native-sidecars=auto": true, "--native-sidecars=true": true, "--native-sidecars=false": false} {
		out, _, err := run(t, strings.Replace(wantsSeed, "seed", "proxy", 1), "inject", "-f", "-", flag)
		if err != nil || strings.Contains(out, "restartPolicy: Always") != native {
			t.Errorf("inject %s: %v; want native sidecars %v:\n%s", flag, err, native, out)
		}
	}
	for _, cmd := range [][]string{{"inject", "-f", "-"}, {"explain", "-f", "-"}, {"serve", "--tls-cert-file", "c", "--tls-key-file", "k"}} {
		_, stderr, _ := run(t, wantsSeed, append(cmd, "--native-sidecars=maybe")...)
		if !strings.Contains(stderr, `tandem: --native-sidecars must be one of auto, true, false, not "maybe"`) {
			t.Errorf("%s --native-sidecars=maybe: stderr %q", cmd[0], stderr)
		}
	}
}

// Every command says a bad -o the same way, after the same prefix.
func TestABadOutputIsSaidOneWay(t *testing.T) {
	for cmd, formats := range map[string]string{"inject": "yaml, json", "compile": "yaml, json", "explain": "text, json, yaml", "audit": "text, json, yaml"} {
		args := []string{cmd, "-o", "xml"}
		if cmd == "inject" || cmd == "explain" {
			args = append(args, "-f", "-")
		}
		_, stderr, _ := run(t, wantsSeed, args...)
		if want := `tandem: --output must be one of ` + formats + `, not "xml"` + "\n"; stderr != want {
			t.Errorf("%s -o xml: stderr %q, want %q", cmd, stderr, want)
		}
	}
}

// Against a cluster, serve refuses to start without --config, unless told to serve the
// embedded example; without one it serves the example, and the log says so loudly.
func TestServeNamesTheConfigurationItServes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("sidecars: [{name: x, labels: {a: b}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		config  string
		cluster bool
		err     string
		log     string
	}{
		"a cluster and no --config":       {cluster: true, err: "no --config: against a cluster, tandem serve needs the configuration the cluster runs"},
		"a cluster and the example named": {cluster: true, config: builtinConfig, log: `"level":"WARN","msg":"serving the embedded example configuration`},
		"no cluster and no --config":      {log: `"level":"WARN","msg":"serving the embedded example configuration, never reloaded: pods get the example's sidecars (seed, proxy, logs)`},
		"a file":                          {cluster: true, config: file, log: `"msg":"serving the configuration file","config":"` + file},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var log strings.Builder
			f := &serveFlags{configPath: tc.config}
			err := serveConfig(f, tc.cluster, slog.New(slog.NewJSONHandler(&log, nil)))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || f.opts.Config != nil || f.opts.ConfigFile != "" {
					t.Errorf("got %v, options %+v; want an error saying %q", err, f.opts, tc.err)
				}
				return
			}
			if err != nil || !strings.Contains(log.String(), tc.log) {
				t.Errorf("got %v, log %s; want it to say %q", err, log.String(), tc.log)
			}
			if (f.opts.ConfigFile == file) != (tc.config == file) || (f.opts.Config != nil) == (tc.config == file) {
				t.Errorf("options: file %q, config set %v", f.opts.ConfigFile, f.opts.Config != nil)
			}
		})
	}
}

// --context picks a context of the kubeconfig, its cluster and its namespace.
func TestContextPicksTheKubeconfigContext(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://127.0.0.1:1"}}
- {name: b, cluster: {server: "https://127.0.0.2:2"}}
users: [{name: u, user: {token: t}}]
contexts:
- {name: a, context: {cluster: a, user: u, namespace: shop}}
- {name: b, context: {cluster: b, user: u, namespace: mesh}}
current-context: a
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for context, want := range map[string][2]string{"": {"https://127.0.0.1:1", "shop"}, "b": {"https://127.0.0.2:2", "mesh"}} {
		c := clusterFlags{kubeconfig: kubeconfig, context: context}
		rc, ns, err := c.load()
		if err != nil || rc.Host != want[0] || ns != want[1] || !strings.HasPrefix(rc.UserAgent, "tandem/") {
			t.Errorf("--context %q: %v, host %q, namespace %q; want %q and %q", context, err, rc.Host, ns, want[0], want[1])
		}
		served, err := c.serving()
		if err != nil || served.Host != want[0] {
			t.Errorf("serve --context %q: %v, host %v; want %q", context, err, served, want[0])
		}
	}
	if _, _, err := (&clusterFlags{kubeconfig: kubeconfig, context: "c"}).load(); err == nil || !strings.Contains(err.Error(), `context "c" does not exist`) {
		t.Errorf("an unknown context: %v", err)
	}
}
