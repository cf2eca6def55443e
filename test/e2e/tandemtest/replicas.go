package tandemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// TandemSelector selects the pods of Tandem installed by the chart or deploy/install.yaml.
const TandemSelector = "app.kubernetes.io/name=tandem"

// TandemPods lists the Tandem pods of namespace that are not on their way out.
func TandemPods(ctx context.Context, client kubernetes.Interface, namespace string) ([]corev1.Pod, error) {
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: TandemSelector})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil }), nil
}

// WaitConfigServed waits until every Tandem pod of namespace serves the configuration
// whose sha256 is digest. The kubelet refreshes a ConfigMap volume on its next sync, then
// each replica reloads on its own: one replica serving the new file says nothing of the
// other, which the API server may call next. Each load logs the file's sha256, and the
// last load counts: a configuration served before may come back.
func WaitConfigServed(ctx context.Context, client kubernetes.Interface, namespace, digest string, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := TandemPods(ctx, client, namespace)
		if err != nil || len(pods) == 0 {
			return false, nil
		}
		for _, p := range pods {
			log, err := client.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "tandem"}).DoRaw(ctx)
			if err != nil || LastLoadedConfig(log) != digest {
				return false, nil
			}
		}
		return true, nil
	})
}

// LastLoadedConfig is the sha256 of the configuration a replica's log says it loaded
// last, "" when none.
func LastLoadedConfig(log []byte) string {
	var last string
	for _, line := range bytes.Split(log, []byte("\n")) {
		var entry struct {
			Msg    string `json:"msg"`
			SHA256 string `json:"sha256"`
		}
		if json.Unmarshal(line, &entry) == nil && entry.Msg == "configuration loaded" {
			last = entry.SHA256
		}
	}
	return last
}
