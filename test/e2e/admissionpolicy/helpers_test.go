package admissionpolicy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/tandem-io/tandem/internal/manifest"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// decodeObjects decodes tandem compile's YAML into typed objects.
func decodeObjects(data []byte) ([]runtime.Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for line := range strings.Lines(string(doc)) {
		if !strings.HasPrefix(line, "#") {
			b.WriteString(line)
		}
	}
	return b.Bytes()
}

// waitEnforced waits until pods in a namespace labelled path get the seed sidecar's label
// from the mutating policy, and a pod that asks for an unknown sidecar is refused by the
// validating one: the API server loads policies a moment after they are created.
func waitEnforced(ctx context.Context, policy, path string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "wait-", Labels: map[string]string{pathLabel: path}}}
	ns, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	defer client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns.Name).Create(ctx, probe("seed"), dry)
		if err != nil || p.Labels["foo"] != "bar" {
			last = fmt.Sprintf("seed pod: %v %v", err, p.GetLabels())
			return false, nil
		}
		_, err = client.CoreV1().Pods(ns.Name).Create(ctx, probe("no-such-sidecar"), dry)
		if err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+policy+"'") {
			last = fmt.Sprintf("unknown sidecar: %v", err)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the policies %s are not enforced on path %s: %v (%s)", policy, path, err, last)
	}
	return nil
}

func probe(sidecars string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Annotations: map[string]string{"tandem.io/inject": sidecars}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
	}
}

// podsOf returns the pods of a manifest: Pods as they are, and the pod of every workload
// (List items included), found as tandem inject finds them.
func podsOf(t *testing.T, data []byte) []*corev1.Pod {
	t.Helper()
	docs, err := manifest.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	var pods []*corev1.Pod
	err = manifest.Transform(docs, func(raw []byte, _ string) ([]byte, error) {
		var p corev1.Pod
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		p.Namespace = ""
		if p.Name == "" && p.GenerateName == "" {
			p.GenerateName = "pod-"
		}
		pods = append(pods, &p)
		return raw, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

// created is what the API server made of a pod: the stored pod, or the denial's message.
type created struct {
	pod    map[string]any
	denial string
	err    error
}

// The text of a denial after the API server's prefix, which names the webhook or the
// policy and so differs between the paths.
var denialPrefix = regexp.MustCompile(`^.*?(admission webhook "[^"]*" denied the request|ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request): `)

func create(t *testing.T, ns string, pod *corev1.Pod) created {
	t.Helper()
	p, err := client.CoreV1().Pods(ns).Create(t.Context(), pod.DeepCopy(), metav1.CreateOptions{})
	if err != nil {
		msg := err.Error()
		if !denialPrefix.MatchString(msg) {
			return created{err: err}
		}
		return created{denial: strings.ReplaceAll(denialPrefix.ReplaceAllString(msg, ""), ns, "NAMESPACE")}
	}
	return created{pod: normalized(t, p, ns)}
}

// The ServiceAccount admission plugin names the token volume with a random suffix.
var tokenVolume = regexp.MustCompile(`kube-api-access-[a-z0-9]{5}`)

// normalized is the pod without what the server generates (names, uid, times, status)
// and with the names of namespaces (which templates may render) replaced.
func normalized(t *testing.T, p *corev1.Pod, namespaces ...string) map[string]any {
	t.Helper()
	p = p.DeepCopy()
	p.Name, p.GenerateName, p.Namespace, p.UID, p.ResourceVersion, p.Generation = "", "", "", "", "", 0
	p.CreationTimestamp, p.ManagedFields, p.Status = metav1.Time{}, nil, corev1.PodStatus{}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	js = tokenVolume.ReplaceAll(js, []byte("kube-api-access"))
	for _, ns := range namespaces {
		js = bytes.ReplaceAll(js, []byte(ns), []byte("NAMESPACE"))
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// namespaceFor makes a namespace on path with the labels of the case's
// "# tandem-test: namespace-labels=k=v" lines, as the golden tests read them.
func namespaceFor(t *testing.T, data []byte, path string) string {
	t.Helper()
	labels := map[string]string{pathLabel: path}
	for line := range strings.Lines(string(data)) {
		if kv, ok := strings.CutPrefix(strings.TrimSpace(line), "# tandem-test: namespace-labels="); ok {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = v
		}
	}
	return tandemtest.Namespace(t, client, labels)
}

// waitUntil polls cond for up to a minute: policies and bindings take effect a moment
// after they are created.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("%s: not after a minute (%v)", what, err)
	}
}
