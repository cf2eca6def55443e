package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/capabilities"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/explain"
	"github.com/tandem-io/tandem/internal/inject"
)

// explainRequestTimeout bounds each request to the API server.
const explainRequestTimeout = 30 * time.Second

// explainCluster explains the pod name of namespace, or every pod of it when name is
// empty; an empty namespace is the kubeconfig context's.
func explainCluster(ctx context.Context, f *explainFlags, cfg *config.Config, namespace, name string) ([]explain.Pod, error) {
	if err := requireConfig("tandem explain", f.configPath); err != nil {
		return nil, err
	}
	rc, contextNamespace, err := f.cluster.load()
	if err != nil {
		return nil, err
	}
	// Someone is waiting at a terminal or in CI: an API server that does not answer is
	// an error, not a hang.
	rc.Timeout = explainRequestTimeout
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		namespace = contextNamespace
	}
	return explainLive(ctx, client, cfg, namespace, name)
}

// explainLive reads the pods and their namespace's real labels, so that namespace
// defaults and namespaces selectors are decided as admission decides them, and takes
// native sidecar support from the server's version.
func explainLive(ctx context.Context, client kubernetes.Interface, cfg *config.Config, namespace, name string) ([]explain.Pod, error) {
	found, err := capabilities.Detect(ctx, client.Discovery())
	if err != nil {
		return nil, err
	}
	native := found.NativeSidecars
	ns, err := client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	var pods []corev1.Pod
	if name != "" {
		p, err := client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading pod %s/%s: %w", namespace, name, err)
		}
		pods = append(pods, *p)
	} else {
		list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the pods of namespace %s: %w", namespace, err)
		}
		pods = list.Items
		slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	}
	target := inject.Namespace{Name: namespace, Labels: ns.Labels, LabelsKnown: true}
	opts := inject.Options{NativeSidecars: native}
	out := []explain.Pod{}
	for i := range pods {
		raw, err := json.Marshal(&pods[i])
		if err != nil {
			return nil, err
		}
		x := inject.Explain(raw, target, cfg, opts)
		out = append(out, explain.New(explain.Object{Kind: "Pod", Namespace: namespace, Name: pods[i].Name}, x, explain.Cluster))
	}
	return out, nil
}
