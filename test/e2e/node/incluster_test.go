package node

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/internal/selfcert"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// The article's system, in the cluster: Tandem from its own image as a Deployment of
// two replicas behind a Service, named by a MutatingWebhookConfiguration without a
// caBundle. The replicas, started together with no Secret, agree on one CA and write
// the caBundle; then the seed Deployment's pod comes out labelled foo=bar with its
// proxy, and runs.
func TestTandemInTheClusterInjectsTheSeedDeployment(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	installTandem(t)
	var deployed bool
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments("tandem-system").Get(ctx, "tandem", metav1.GetOptions{})
		deployed = err == nil && d.Status.ReadyReplicas == 2
		return deployed, nil
	})
	if err != nil {
		p, _ := tandemtest.WaitForPod(ctx, client, "tandem-system", "app=tandem", time.Second)
		t.Fatalf("Tandem's two replicas are not Ready: %v; a pod: %s", err, describe(p))
	}

	secret, err := client.CoreV1().Secrets("tandem-system").Get(ctx, "tandem-certs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "tandem-in-cluster", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hook.Webhooks[0].ClientConfig.CABundle, selfcert.Bundle(secret.Data)) {
		t.Error("the caBundle is not the CA in the Secret")
	}
	if n := newCAs(t); n != 1 {
		t.Errorf("%d replicas made a CA; replicas starting together must agree on one", n)
	}

	ns := tandemtest.Namespace(t, client, map[string]string{"e2e.tandem.io/webhook": "in-cluster"})
	create(t, ns, tandemtest.RepoFile("examples", "test.yaml"), "")
	p := waitReady(t, ns, "app=test")
	if p.Labels["foo"] != "bar" || status(t, p, "proxy").State.Running == nil {
		t.Errorf("the seed pod lacks foo=bar or a running proxy: labels %v; %s", p.Labels, describe(p))
	}
}

// installTandem applies testdata/tandem-in-cluster.yaml with the demo configuration.
func installTandem(t *testing.T) {
	t.Helper()
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tandem-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(tandemtest.RepoFile("examples", "demo", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tandem-config", Namespace: "tandem-system"}, Data: map[string]string{"config.yaml": string(config)}}
	if _, err := client.CoreV1().ConfigMaps("tandem-system").Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cp.WaitForDefaultServiceAccount(t.Context(), "tandem-system"); err != nil {
		t.Fatal(err)
	}
	create(t, "tandem-system", "testdata/tandem-in-cluster.yaml", "")
}

// newCAs counts the replicas whose log says they made a CA.
func newCAs(t *testing.T) int {
	t.Helper()
	pods, err := client.CoreV1().Pods("tandem-system").List(t.Context(), metav1.ListOptions{LabelSelector: "app=tandem"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range pods.Items {
		out, err := logs(t.Context(), &pods.Items[i], "tandem")
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(out, "new CA: no usable CA")
	}
	return n
}
