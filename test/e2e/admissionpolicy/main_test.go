package admissionpolicy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/capabilities"
	"github.com/tandem-io/tandem/test/e2e/controlplane"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// One control plane with both paths, each for namespaces that carry its label:
// pathLabel=webhook is served by tandem serve, pathLabel=policy by the compiled policies
// of the same configuration.
var (
	cp      *controlplane.ControlPlane
	client  kubernetes.Interface
	bin     string
	work    string
	webhook *tandemtest.Server
	// goldenConfig is the configuration of the engine's golden tests.
	goldenConfig = tandemtest.RepoFile("internal", "inject", "testdata", "inject", "config.yaml")
)

const pathLabel = "e2e.tandem.io/path"

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	if work, err = os.MkdirTemp("", "tandem-e2e-policy-"); err != nil {
		return 1, err
	}
	code := 1
	defer func() {
		if code == 0 {
			os.RemoveAll(work)
		} else {
			fmt.Fprintf(os.Stderr, "logs kept in %s\n", work)
		}
	}()
	if cp, err = controlplane.Start(ctx, controlplane.Options{LogDir: filepath.Join(work, "logs"), Out: os.Stderr}); err != nil {
		return 1, err
	}
	defer cp.Stop()
	if client, err = kubernetes.NewForConfig(cp.RESTConfig); err != nil {
		return 1, err
	}
	// Every test here applies the policies: on an API server without them there is
	// nothing to compare. test/e2e and test/e2e/chart check what Tandem says there.
	server, err := capabilities.Detect(ctx, client.Discovery())
	if err != nil {
		return 1, err
	}
	if problem := server.PolicyProblem(); problem != "" {
		fmt.Fprintf(os.Stderr, "admissionpolicy: no test applies: %s\n", problem)
		code = 0
		return 0, nil
	}
	if bin, err = tandemtest.Build(ctx, work); err != nil {
		return 1, err
	}
	if webhook, err = startWebhook(ctx, "webhook", goldenConfig, "webhook"); err != nil {
		return 1, err
	}
	defer webhook.Stop()
	compiled, err := compile(ctx, "--config", goldenConfig)
	if err != nil {
		return 1, err
	}
	if err := applyPolicies(ctx, compiled, "policy"); err != nil {
		return 1, err
	}
	code = m.Run()
	return code, nil
}

// startWebhook runs tandem serve with config and registers it for the namespaces
// labelled path.
func startWebhook(ctx context.Context, name, config, path string) (*tandemtest.Server, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s, err := tandemtest.StartServer(ctx, tandemtest.Options{Binary: bin, Dir: dir, ConfigFile: config, Kubeconfig: cp.KubeconfigPath})
	if err != nil {
		return nil, err
	}
	w := tandemtest.Webhook{Name: "tandem-" + name, URL: s.URL, CABundle: s.CABundle, Namespaces: onPath(path)}
	if err := w.Register(ctx, client); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func onPath(path string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{pathLabel: path}}
}

// compile runs tandem compile with args and returns its standard output.
func compile(ctx context.Context, args ...string) ([]byte, error) {
	out, stderr, err := tandem(ctx, append([]string{"compile"}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("tandem compile %v: %w\n%s", args, err, stderr)
	}
	return out, nil
}

func tandem(ctx context.Context, args ...string) (stdout, stderr []byte, err error) {
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// applyPolicies creates the compiled objects, their bindings limited to the namespaces
// labelled path, and waits until the API server enforces both policies.
func applyPolicies(ctx context.Context, compiled []byte, path string) error {
	objs, err := decodeObjects(compiled)
	if err != nil {
		return err
	}
	var name string
	for _, o := range objs {
		switch o := o.(type) {
		case *admissionv1.MutatingAdmissionPolicy:
			name = o.Name
			_, err = client.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, o, metav1.CreateOptions{})
		case *admissionv1.MutatingAdmissionPolicyBinding:
			o.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: onPath(path)}
			_, err = client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, o, metav1.CreateOptions{})
		case *admissionv1.ValidatingAdmissionPolicy:
			_, err = client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, o, metav1.CreateOptions{})
		case *admissionv1.ValidatingAdmissionPolicyBinding:
			o.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: onPath(path)}
			_, err = client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, o, metav1.CreateOptions{})
		default:
			err = fmt.Errorf("tandem compile wrote a %T", o)
		}
		if err != nil {
			return err
		}
	}
	return waitEnforced(ctx, name, path)
}
