package chart

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// The value mode: webhook (the default), policy (the admission policies `tandem compile`
// writes, and no Tandem server) and auto (both, the webhook only for the pods the
// policies leave to it). These tests compile the policies with the real `tandem
// compile`, built once into the control plane's directory.

// partialConfig is examples/config.yaml plus a sidecar `tandem compile --partial` leaves
// to the webhook: shout.
const partialConfig = "testdata/mode/partial-config.yaml"

// The kinds of the objects tandem compile writes.
var policyKinds = []string{"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

var tandemBinary = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := filepath.Join(cp.Dir, "tandem-bin") // removed with the control plane
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return tandemtest.Build(ctx, dir)
})

// compilePolicies runs tandem compile --config file with args, and returns what it
// writes to stdout: the value policies.
func compilePolicies(t *testing.T, file string, args ...string) []byte {
	t.Helper()
	bin, err := tandemBinary()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(t.Context(), bin, append([]string{"compile", "--config", file}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tandem compile --config %s %v: %v\n%s", file, args, err, stderr.String())
	}
	return out
}

// modeArgs are helm's flags for a mode with policies (a file's content).
func modeArgs(t *testing.T, mode string, policies []byte) []string {
	t.Helper()
	return []string{"--set", "mode=" + mode, "--set-file", "policies=" + writeTemp(t, "policies.yaml", policies)}
}

// kindNames lists a render's objects as KIND/NAME, sorted.
func kindNames(objs []object) []string {
	var names []string
	for _, o := range objs {
		names = append(names, o.Kind+"/"+o.Metadata.Name)
	}
	slices.Sort(names)
	return names
}

// dryRunServer applies a render with kubectl --dry-run=server and checks that the API
// server accepted every object.
func dryRunServer(t *testing.T, rendered []byte) {
	t.Helper()
	out, err := cp.Kubectl(t.Context(), "apply", "--dry-run=server", "-f", writeTemp(t, "render.yaml", rendered))
	if err != nil {
		t.Fatal(err)
	}
	if n, want := strings.Count(string(out), "(server dry run)"), len(objects(t, rendered)); n != want {
		t.Errorf("kubectl applied %d objects of the %d rendered:\n%s", n, want, out)
	}
}

// checkPolicies checks that a render holds the compiled objects as they were compiled,
// annotations included, with the chart's labels (those of its ConfigMap tandem-config)
// added, and their status (empty) left out.
func checkPolicies(t *testing.T, objs []object, compiled []byte) {
	t.Helper()
	var labels map[string]string
	for _, cm := range all[corev1.ConfigMap](t, objs, "ConfigMap") {
		if cm.Name == "tandem-config" {
			labels = cm.Labels
		}
	}
	if len(labels) == 0 {
		t.Fatal("the render has no ConfigMap tandem-config with labels to compare with")
	}
	rendered := byName(t, objsYAML(objs))
	for key, want := range byName(t, compiled) {
		got, ok := rendered[key]
		if !ok {
			t.Errorf("the render has no %s", key)
			continue
		}
		meta, _ := got["metadata"].(map[string]any)
		var gotLabels map[string]string
		if b, err := yaml.Marshal(meta["labels"]); err != nil || yaml.Unmarshal(b, &gotLabels) != nil {
			t.Fatalf("%s: labels %v", key, meta["labels"])
		}
		if diff := cmp.Diff(labels, gotLabels); diff != "" {
			t.Errorf("%s: the labels are not the chart's (-want +got):\n%s", key, diff)
		}
		delete(meta, "labels")
		delete(want, "status")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s is not as tandem compile wrote it (-compiled +rendered):\n%s", key, diff)
		}
	}
}

// policyNames are the KIND/NAME of the objects tandem compile wrote.
func policyNames(t *testing.T, compiled []byte) []string {
	t.Helper()
	names := kindNames(objects(t, compiled))
	for _, n := range names {
		if !slices.Contains(policyKinds, strings.Split(n, "/")[0]) {
			t.Fatalf("tandem compile wrote a %s", n)
		}
	}
	return names
}

// objsYAML joins objects into one multi-document YAML.
func objsYAML(objs []object) []byte {
	var b []byte
	for _, o := range objs {
		b = append(append(b, "---\n"...), o.raw...)
	}
	return b
}

// webhookParts are the kinds of the webhook server's objects, none of which mode policy
// renders.
var webhookParts = []string{"Deployment", "Service", "ServiceAccount", "MutatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding",
	"Role", "RoleBinding", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "Job", "Issuer", "Certificate"}

// Mode webhook is the chart as it was: setting it, even with policies given, changes no
// byte of any render, and no render holds a compiled policy.
func TestModeWebhookRendersAsBefore(t *testing.T) {
	policies := compilePolicies(t, tandemtest.RepoFile("examples", "config.yaml"))
	for _, v := range valueSets(t) {
		t.Run(v.name, func(t *testing.T) {
			before := render(t, v.args()...)
			for _, args := range [][]string{{"--set", "mode=webhook"}, modeArgs(t, "webhook", policies)} {
				if diff := lineDiff(string(before), string(render(t, append(v.args(), args...)...))); diff != "" {
					t.Errorf("%v changes the render (-default +with it):\n%s", args, diff)
				}
			}
			for _, o := range objects(t, before) {
				// The chart's own policy guarding the webhook configuration is no compiled one.
				if slices.Contains(policyKinds, o.Kind) && o.Metadata.Name != caBundlePolicy {
					t.Errorf("the render holds a %s %s", o.Kind, o.Metadata.Name)
				}
			}
		})
	}
}

// Mode policy renders the compiled objects, labelled as the chart's, and the
// ConfigMap of the configuration they were compiled from, and nothing of the webhook
// server, whatever else the values enable (ci/: audit, rollout, NetworkPolicy,
// ServiceMonitor, cert-manager); the API server accepts them. Mode auto with every sidecar compiled
// renders the same. Helm 3 renders the same objects.
func TestModePolicy(t *testing.T) {
	needPolicies(t)
	for _, v := range valueSets(t) {
		t.Run(v.name, func(t *testing.T) {
			file := tandemtest.RepoFile("examples", "config.yaml")
			if given, _ := v.values(t)["config"].(string); given != "" {
				file = writeTemp(t, "config.yaml", []byte(given))
			}
			compiled := compilePolicies(t, file)
			rendered := render(t, append(v.args(), modeArgs(t, "policy", compiled)...)...)
			objs := objects(t, rendered)
			want := append([]string{"ConfigMap/tandem-config"}, policyNames(t, compiled)...)
			slices.Sort(want)
			if diff := cmp.Diff(want, kindNames(objs)); diff != "" {
				t.Fatalf("mode policy renders other objects (-want +got):\n%s", diff)
			}
			checkPolicies(t, objs, compiled)
			dryRunServer(t, rendered)

			auto := render(t, append(v.args(), modeArgs(t, "auto", compiled)...)...)
			if diff := lineDiff(string(rendered), string(auto)); diff != "" {
				t.Errorf("mode auto with every sidecar compiled renders otherwise than mode policy (-policy +auto):\n%s", diff)
			}
			helm3, err := cp.Helm3(t.Context(), append([]string{"template", "tandem", chartDir, "--namespace", installNS}, append(v.args(), modeArgs(t, "policy", compiled)...)...)...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(byName(t, rendered), byName(t, helm3)); diff != "" {
				t.Errorf("Helm 3 renders other objects than Helm 4 (-helm4 +helm3):\n%s", diff)
			}
		})
	}
	t.Run("no webhook part", func(t *testing.T) {
		// Every switch of a webhook part on at once.
		args := []string{"--set", "serviceMonitor.enabled=true,networkPolicy.enabled=true,audit.enabled=true,rollout.enabled=true,rollout.restart=true,certificates.mode=cert-manager,validation.enabled=true"}
		compiled := compilePolicies(t, tandemtest.RepoFile("examples", "config.yaml"))
		for _, o := range objects(t, render(t, append(args, modeArgs(t, "policy", compiled)...)...)) {
			if slices.Contains(webhookParts, o.Kind) {
				t.Errorf("mode policy renders %s %s", o.Kind, o.Metadata.Name)
			}
		}
	})
	t.Run("JSON", func(t *testing.T) {
		// tandem compile -o json writes a List: the chart reads it as it reads YAML.
		file := tandemtest.RepoFile("examples", "config.yaml")
		fromYAML := render(t, modeArgs(t, "policy", compilePolicies(t, file))...)
		fromJSON := render(t, modeArgs(t, "policy", compilePolicies(t, file, "-o", "json"))...)
		if diff := cmp.Diff(byName(t, fromYAML), byName(t, fromJSON)); diff != "" {
			t.Errorf("policies given as JSON render otherwise than as YAML (-yaml +json):\n%s", diff)
		}
	})
}

// Mode auto with a sidecar left to the webhook renders every object of mode webhook and
// the policies; the webhook's entries are those of mode webhook, and its pod
// entries leave out the pods whose annotation names only compiled sidecars. The API
// server accepts the whole render.
func TestModeAuto(t *testing.T) {
	needPolicies(t)
	compiled := compilePolicies(t, partialConfig, "--partial")
	configArgs := []string{"--set-file", "config=" + partialConfig}
	webhook := objects(t, render(t, configArgs...))
	rendered := render(t, append(configArgs, modeArgs(t, "auto", compiled)...)...)
	objs := objects(t, rendered)

	want := append(kindNames(webhook), policyNames(t, compiled)...)
	slices.Sort(want)
	if diff := cmp.Diff(want, kindNames(objs)); diff != "" {
		t.Fatalf("mode auto renders other objects than mode webhook and the policies (-want +got):\n%s", diff)
	}
	checkPolicies(t, objs, compiled)

	data, err := os.ReadFile(partialConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, partialConfig)
	if err != nil {
		t.Fatal(err)
	}
	mwc := only[admissionregistrationv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration")
	checkEntries(t, cfg, mwc)
	before := only[admissionregistrationv1.MutatingWebhookConfiguration](t, webhook, "MutatingWebhookConfiguration")
	for i, w := range mwc.Webhooks {
		var names []string
		for _, c := range w.MatchConditions {
			names = append(names, c.Name)
		}
		var wantNames []string
		for _, c := range before.Webhooks[i].MatchConditions {
			wantNames = append(wantNames, c.Name)
		}
		if strings.Contains(w.Name, "-pod.") {
			wantNames = append(wantNames, "names-a-sidecar-the-policies-leave-to-the-webhook")
			compiled := w.MatchConditions[len(w.MatchConditions)-2].Expression
			if !strings.HasSuffix(compiled, ".exists(n, !(n in ['seed', 'proxy', 'logs']))") {
				t.Errorf("%s: the matchCondition before last does not test the compiled sidecars: %s", w.Name, compiled)
			}
		}
		wantNames = append(wantNames, "not-injected-by-the-policies")
		if !slices.Equal(names, wantNames) {
			t.Errorf("%s: matchConditions %v, want %v", w.Name, names, wantNames)
		}
		// All else as in mode webhook.
		w.MatchConditions, before.Webhooks[i].MatchConditions = nil, nil
		if diff := cmp.Diff(before.Webhooks[i], w); diff != "" {
			t.Errorf("%s differs from mode webhook's (-webhook +auto):\n%s", w.Name, diff)
		}
	}
	dryRunServer(t, rendered)
}

// helm lint, Helm 3's and Helm 4's, passes modes policy and auto without a warning, and
// Helm 3 renders them as Helm 4 does.
func TestModeLint(t *testing.T) {
	policy := modeArgs(t, "policy", compilePolicies(t, tandemtest.RepoFile("examples", "config.yaml")))
	auto := append([]string{"--set-file", "config=" + partialConfig}, modeArgs(t, "auto", compilePolicies(t, partialConfig, "--partial"))...)
	for name, args := range map[string][]string{"policy": policy, "auto": auto} {
		t.Run(name, func(t *testing.T) {
			for helm, run := range map[string]func(context.Context, ...string) ([]byte, error){"helm": cp.Helm, "helm3": cp.Helm3} {
				out, err := run(t.Context(), append([]string{"lint", chartDir}, args...)...)
				if err != nil {
					t.Fatalf("%s lint: %v\n%s", helm, err, out)
				}
				for line := range strings.Lines(string(out)) {
					if strings.Contains(line, "[ERROR]") || strings.Contains(line, "[WARNING]") {
						t.Errorf("%s lint: %s", helm, strings.TrimSpace(line))
					}
				}
			}
			helm3, err := cp.Helm3(t.Context(), append([]string{"template", "tandem", chartDir, "--namespace", installNS}, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(byName(t, render(t, args...)), byName(t, helm3)); diff != "" {
				t.Errorf("Helm 3 renders other objects than Helm 4 (-helm4 +helm3):\n%s", diff)
			}
		})
	}
}

// Where the API server sends pods in mode auto, with the webhook configuration, its
// Service (with nothing behind it) and the policies of the render applied: pods whose
// annotation names only compiled sidecars are injected by the policies and never sent
// to the webhook; pods naming shout (left to the webhook) or an unknown name are; pods
// asking through their namespace's label are sent as in mode webhook (here, with the
// webhook down, the Fail entry refuses them even though the policies injected them).
func TestModeAutoRouting(t *testing.T) {
	needPolicies(t)
	compiled := compilePolicies(t, partialConfig, "--partial")
	objs := objects(t, render(t, append([]string{"--set-file", "config=" + partialConfig}, modeArgs(t, "auto", compiled)...)...))
	// The policies first, then the webhook, so that each is known to be loaded
	// whatever the other does to the probe pods.
	var policies, webhook []object
	for _, o := range objs {
		switch {
		case slices.Contains(policyKinds, o.Kind):
			policies = append(policies, o)
		case o.Kind == "MutatingWebhookConfiguration" || o.Kind == "Service":
			webhook = append(webhook, o)
		}
	}
	probe := tandemtest.Namespace(t, client, nil)
	files := []string{writeTemp(t, "policies.yaml", objsYAML(policies)), writeTemp(t, "webhook.yaml", objsYAML(webhook))}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, f := range files {
			if _, err := cp.Kubectl(ctx, "delete", "--ignore-not-found", "-f", f); err != nil {
				t.Errorf("removing the webhook configuration and the policies: %v", err)
			}
		}
		// Until the API server has let go of both, they would act on the next tests' pods.
		waitAdmission(ctx, t, probe, "seed", func(injected, refused bool) bool { return !injected && !refused })
		waitAdmission(ctx, t, probe, "shout", func(injected, refused bool) bool { return !refused })
	})
	for i, f := range files {
		if _, err := cp.Kubectl(t.Context(), "apply", "-f", f); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			waitAdmission(t.Context(), t, probe, "seed", func(injected, refused bool) bool { return injected })
		} else {
			waitAdmission(t.Context(), t, probe, "shout", func(injected, refused bool) bool { return refused })
		}
	}

	cases := []struct {
		name       string
		nsLabel    *string // the new namespace's tandem.io/inject; nil for none
		annotation *string // the pod's tandem.io/inject; nil for none
		optOut     bool    // the pod is labelled tandem.io/inject=false
		want       outcome
		entry      string
		injected   bool // created with the policies' tandem.io/status
	}{
		{name: "annotation naming a compiled sidecar", annotation: new("seed"), want: notSent, injected: true},
		{name: "annotation naming every compiled sidecar", annotation: new("seed,proxy logs"), want: notSent, injected: true},
		{name: "annotation naming the compiled best-effort sidecar", annotation: new("logs"), want: notSent, injected: true},
		{name: "annotation naming the sidecar left to the webhook", annotation: new("shout"), want: denied, entry: failPod},
		{name: "annotation naming a compiled sidecar and the one left to the webhook", annotation: new("seed,shout"), want: denied, entry: failPod},
		{name: "annotation naming an unknown sidecar", annotation: new("prxy"), want: denied, entry: failPod},
		{name: "annotation naming a compiled and an unknown sidecar", annotation: new("seed,prxy"), want: denied, entry: failPod},
		{name: "annotation false", annotation: new("false"), want: notSent},
		{name: "no annotation in an unlabelled namespace", want: notSent},
		{name: "opt-out label with an annotation naming a compiled sidecar", annotation: new("seed"), optOut: true, want: notSent},
		{name: "annotation naming a compiled sidecar in a namespace asking for shout", nsLabel: new("shout"), annotation: new("seed"), want: notSent, injected: true},
		// The policies inject these before webhooks run: the status annotation keeps them
		// from the webhook, which namespaceSelector alone could not.
		{name: "namespace label naming a compiled mandatory sidecar", nsLabel: new("seed"), want: notSent, injected: true},
		{name: "namespace label naming the compiled best-effort sidecar", nsLabel: new("logs"), want: notSent, injected: true},
		{name: "namespace label naming the sidecar left to the webhook", nsLabel: new("shout"), want: denied, entry: failNamespace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			labels := map[string]string{}
			if c.nsLabel != nil {
				labels["tandem.io/inject"] = *c.nsLabel
			}
			ns := tandemtest.Namespace(t, client, labels)
			before := readAdmissionMetrics(t)
			created, err := client.CoreV1().Pods(ns).Create(t.Context(), gatedPod(c.annotation, c.optOut), metav1.CreateOptions{})
			after := readAdmissionMetrics(t)
			got := after.sub(before)
			if got.conditionErrors != 0 {
				t.Errorf("%v matchCondition evaluation errors", got.conditionErrors)
			}
			sent := slices.Sorted(maps.Keys(got.requests))
			switch c.want {
			case notSent, failedOpen:
				if err != nil {
					t.Fatalf("the create failed: %v", err)
				}
				if c.want == notSent && len(sent) > 0 {
					t.Errorf("the API server called %v", sent)
				}
				if c.want == failedOpen && (got.failOpen[c.entry] < 1 || !slices.Equal(sent, []string{c.entry})) {
					t.Errorf("the API server called %v, want %s alone, failing open (fail-open counts went up by %v)", sent, c.entry, got.failOpen)
				}
				status, injected := created.Annotations["tandem.io/status"]
				if injected != c.injected {
					t.Errorf("injected by the policies: %v (tandem.io/status %q), want %v", injected, status, c.injected)
				}
				if c.annotation != nil && strings.Contains(*c.annotation, "seed") && c.injected && created.Labels["foo"] != "bar" {
					t.Errorf("the pod asks for seed but has labels %v", created.Labels)
				}
			case denied:
				if want := fmt.Sprintf("failed calling webhook %q", c.entry); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("the create returned %v; want an error with %s", err, want)
				}
				if !slices.Equal(sent, []string{c.entry}) {
					t.Errorf("the API server called %v, want %s alone", sent, c.entry)
				}
			}
			if t.Failed() {
				t.Logf("want: %v (%s)", c.want, c.entry)
			}
		})
	}
}

// waitAdmission waits until a pod asking for sidecars (a server dry run) is admitted as
// done says: injected by the policies (it carries foo=bar, the seed sidecar's label),
// refused through the webhook's Fail pod entry. The API server loads webhook
// configurations and policies, and lets go of them, asynchronously.
func waitAdmission(ctx context.Context, t *testing.T, ns, sidecars string, done func(injected, refused bool) bool) {
	t.Helper()
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pod, err := client.CoreV1().Pods(ns).Create(ctx, gatedPod(&sidecars, false), dry)
		injected := err == nil && pod.Labels["foo"] == "bar"
		refused := err != nil && strings.Contains(err.Error(), failPod)
		last = fmt.Sprintf("injected: %v, refused through %s: %v (%v)", injected, failPod, refused, err)
		return done(injected, refused), nil
	})
	if err != nil {
		t.Fatalf("a pod asking for %s is not admitted as expected: %s", sidecars, last)
	}
}

// A mode the chart cannot install fails the render with a message that says what to
// run or to set.
func TestModeRenderErrors(t *testing.T) {
	examples := compilePolicies(t, tandemtest.RepoFile("examples", "config.yaml"))
	partial := compilePolicies(t, partialConfig, "--partial")
	withPartialConfig := func(args []string) []string {
		return append([]string{"--set-file", "config=" + partialConfig}, args...)
	}
	var withoutDigest strings.Builder
	for line := range strings.Lines(string(examples)) {
		if !strings.Contains(line, "tandem.io/config-sha256") {
			withoutDigest.WriteString(line)
		}
	}
	// Policies of another configuration, and the default one's, mixed.
	var mixed strings.Builder
	for i, doc := range strings.Split(string(examples), "\n---\n") {
		if i == 2 {
			doc = strings.Split(string(partial), "\n---\n")[2]
		}
		if i > 0 {
			mixed.WriteString("\n---\n")
		}
		mixed.WriteString(doc)
	}
	var withoutMutating string
	for _, doc := range strings.SplitAfter(string(examples), "---\n") {
		if !strings.Contains(doc, "\nkind: MutatingAdmissionPolicy\n") {
			withoutMutating += doc
		}
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"an unknown mode", []string{"--set", "mode=hybrid"}, []string{`mode must be webhook, policy or auto, not "hybrid"`}},
		{"mode policy without policies", []string{"--set", "mode=policy"},
			[]string{"mode policy needs the admission policies", "run: tandem compile --config <your file> > policies.yaml", "--set-file policies=policies.yaml"}},
		{"mode auto without policies", []string{"--set", "mode=auto"},
			[]string{"mode auto needs the admission policies", "run: tandem compile --config <your file> --partial > policies.yaml"}},
		{"policies of another configuration", modeArgs(t, "auto", partial),
			[]string{"policies were compiled from another configuration", "run: tandem compile --config <your file> --partial > policies.yaml"}},
		{"policies of the default configuration with another one", withPartialConfig(modeArgs(t, "policy", examples)),
			[]string{"policies were compiled from another configuration", "the value config", "run: tandem compile --config <your file> > policies.yaml"}},
		{"policies of two configurations", modeArgs(t, "policy", []byte(mixed.String())),
			[]string{"policies were compiled from another configuration (MutatingAdmissionPolicyBinding tandem"}},
		{"mode policy with a sidecar left to the webhook", withPartialConfig(modeArgs(t, "policy", partial)),
			[]string{"these sidecars need the webhook: shout", "use mode auto"}},
		{"policies without their digest", modeArgs(t, "policy", []byte(withoutDigest.String())),
			[]string{"MutatingAdmissionPolicy tandem has no annotation tandem.io/config-sha256"}},
		{"policies that are not tandem compile's", modeArgs(t, "policy", append(slices.Clone(examples), "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"...)),
			[]string{"policies must hold what tandem compile writes", ", ConfigMap]"}},
		{"policies without their MutatingAdmissionPolicy", modeArgs(t, "policy", []byte(withoutMutating)),
			[]string{"policies must hold what tandem compile writes: one MutatingAdmissionPolicy", "they hold [MutatingAdmissionPolicyBinding, "}},
		{"policies that are not YAML", modeArgs(t, "policy", []byte("# Compiled\n---\nkind: [\n")), []string{"policies: document 2 is not valid YAML"}},
		{"mode policy for a Kubernetes without the policies", append(modeArgs(t, "policy", examples), "--kube-version", "1.35.4"),
			[]string{"mode policy: Kubernetes v1.35.4 (--kube-version) does not serve MutatingAdmissionPolicy admissionregistration.k8s.io/v1 by default", "use mode webhook there"}},
		{"mode auto for Kubernetes 1.30", append(withPartialConfig(modeArgs(t, "auto", partial)), "--kube-version", "1.30"),
			[]string{"mode auto: Kubernetes v1.30 (--kube-version) does not serve MutatingAdmissionPolicy", "from 1.36"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := helmTemplate(t, c.args...)
			if err == nil {
				t.Fatalf("helm template succeeded; want it to fail with %q. It rendered:\n%s", c.want, out)
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("helm template failed without %q:\n%v", want, err)
				}
			}
		})
	}
}

// Against a cluster (helm install, here with --dry-run=server, which asks the API server
// what it serves but creates nothing), modes policy and auto render when the API server
// serves MutatingAdmissionPolicy v1 and fail at render, with why, when it does not; both
// Helm 3 and 4. Offline, --kube-version decides (TestModeRenderErrors).
func TestModeFollowsTheCluster(t *testing.T) {
	examples := compilePolicies(t, tandemtest.RepoFile("examples", "config.yaml"))
	partial := compilePolicies(t, partialConfig, "--partial")
	modes := map[string][]string{
		"policy": modeArgs(t, "policy", examples),
		"auto":   append([]string{"--set-file", "config=" + partialConfig}, modeArgs(t, "auto", partial)...),
	}
	helms := map[string]func(context.Context, ...string) ([]byte, error){"helm": cp.Helm, "helm3": cp.Helm3}
	for _, mode := range []string{"policy", "auto"} {
		for _, name := range []string{"helm", "helm3"} {
			t.Run(mode+"/"+name, func(t *testing.T) {
				args := append([]string{"install", "tandem", chartDir, "--namespace", installNS, "--dry-run=server"}, modes[mode]...)
				out, err := helms[name](t.Context(), args...)
				if server.Policies() {
					if err != nil {
						t.Fatalf("Kubernetes %s serves MutatingAdmissionPolicy v1, yet %s install of mode %s failed: %v", server.Version, name, mode, err)
					}
					if !strings.Contains(string(out), "kind: MutatingAdmissionPolicy\n") {
						t.Errorf("%s install of mode %s renders no MutatingAdmissionPolicy:\n%s", name, mode, out)
					}
					return
				}
				want := fmt.Sprintf("mode %s: this cluster (Kubernetes %s) does not serve MutatingAdmissionPolicy admissionregistration.k8s.io/v1;", mode, server.Version)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("%s install of mode %s on Kubernetes %s: %v; want a render error with %q", name, mode, server.Version, err, want)
				}
			})
		}
	}
}

// The partial configuration is examples/config.yaml and one sidecar more, so that what
// the tests say of the example's sidecars holds for it.
func TestPartialConfigExtendsTheExample(t *testing.T) {
	examples, err := os.ReadFile(tandemtest.RepoFile("examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	partial, err := os.ReadFile(partialConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(partial), string(examples)) {
		t.Fatalf("%s does not start with examples/config.yaml: refresh it (copy the example, then add the sidecar shout)", partialConfig)
	}
	var cfg struct {
		Sidecars []struct{ Name string } `json:"sidecars"`
	}
	if err := yaml.Unmarshal(partial, &cfg); err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.Sidecars); n == 0 || cfg.Sidecars[n-1].Name != "shout" {
		t.Errorf("the last sidecar of %s is not shout: %v", partialConfig, cfg.Sidecars)
	}
}
