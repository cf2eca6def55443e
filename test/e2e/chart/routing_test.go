package chart

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/test/e2e/tandemtest"
	"github.com/tandem-io/tandem/test/images"
)

// The entries of the default render's webhook configuration.
const (
	failPod         = "fail-pod.inject.tandem.io"
	failNamespace   = "fail-namespace.inject.tandem.io"
	ignorePod       = "ignore-pod.inject.tandem.io"
	ignoreNamespace = "ignore-namespace.inject.tandem.io"
)

// outcome is what becomes of a pod created while Tandem is unreachable.
type outcome int

const (
	notSent    outcome = iota // no entry matches: created, Tandem never asked
	denied                    // a Fail entry matches: the create fails
	failedOpen                // an Ignore entry matches: created without Tandem
)

func (o outcome) String() string {
	return [...]string{"created, not sent", "denied", "created, sent to an Ignore entry that failed open"}[o]
}

// Where the API server sends each pod, by the default render's webhook configuration
// (examples/config.yaml: seed and proxy mandatory, logs best effort), when nothing
// answers behind the Service: a Fail entry denies the pod, an Ignore entry fails open,
// and a pod no entry matches is created as if Tandem were not installed. This is what
// the cluster does while Tandem is down, and, since each pod matches at most one entry,
// which entry Tandem is asked through when it is up.
func TestRouting(t *testing.T) {
	objs := objects(t, render(t))
	var webhook []byte
	for _, o := range objs {
		if o.Kind == "MutatingWebhookConfiguration" || o.Kind == "Service" {
			webhook = append(append(webhook, "---\n"...), o.raw...)
		}
	}
	file := writeTemp(t, "webhook.yaml", webhook)
	if _, err := cp.Kubectl(t.Context(), "apply", "-f", file); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cp.Kubectl(context.Background(), "delete", "-f", file); err != nil {
			t.Errorf("removing the webhook configuration: %v", err)
		}
	})
	waitDenied(t)

	cases := []struct {
		name       string
		namespace  string  // an existing namespace; "" for a new one
		nsLabel    *string // the new namespace's tandem.io/inject; nil for none
		annotation *string // the pod's tandem.io/inject; nil for none
		optOut     bool    // the pod is labelled tandem.io/inject=false
		want       outcome
		entry      string
	}{
		{name: "no annotation in an unlabelled namespace", want: notSent},
		{name: "annotation naming a mandatory sidecar", annotation: new("seed"), want: denied, entry: failPod},
		{name: "annotation naming the best-effort sidecar", annotation: new("logs"), want: failedOpen, entry: ignorePod},
		{name: "annotation naming best-effort and mandatory sidecars", annotation: new("logs,proxy"), want: denied, entry: failPod},
		{name: "annotation naming them separated by a space", annotation: new("logs proxy"), want: denied, entry: failPod},
		{name: "annotation naming an unknown sidecar", annotation: new("prxy"), want: denied, entry: failPod},
		{name: "annotation false beside the best-effort sidecar", annotation: new("false,logs"), want: failedOpen, entry: ignorePod},
		{name: "empty annotation in a labelled namespace", nsLabel: new("proxy"), annotation: new(""), want: notSent},
		{name: "annotation false in a labelled namespace", nsLabel: new("proxy"), annotation: new("false"), want: notSent},
		{name: "namespace label naming the best-effort sidecar", nsLabel: new("logs"), want: failedOpen, entry: ignoreNamespace},
		{name: "namespace label naming mandatory and best-effort sidecars", nsLabel: new("proxy.logs"), want: denied, entry: failNamespace},
		{name: "namespace label naming them the other way round", nsLabel: new("logs.proxy"), want: denied, entry: failNamespace},
		{name: "namespace label naming an unknown sidecar", nsLabel: new("prxy"), want: denied, entry: failNamespace},
		{name: "namespace label false", nsLabel: new("false"), want: notSent},
		{name: "empty namespace label", nsLabel: new(""), want: notSent},
		{name: "annotation naming the best-effort sidecar in a mandatory namespace", nsLabel: new("seed"), annotation: new("logs"), want: failedOpen, entry: ignorePod},
		{name: "annotation naming a mandatory sidecar in a best-effort namespace", nsLabel: new("logs"), annotation: new("seed"), want: denied, entry: failPod},
		{name: "opt-out label with an annotation in a labelled namespace", nsLabel: new("seed"), annotation: new("seed"), optOut: true, want: notSent},
		{name: "annotation in kube-system", namespace: "kube-system", annotation: new("seed"), want: notSent},
		{name: "annotation in tandem-system", namespace: installNS, annotation: new("seed"), want: notSent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := c.namespace
			if ns == "" {
				labels := map[string]string{}
				if c.nsLabel != nil {
					labels["tandem.io/inject"] = *c.nsLabel
				}
				ns = tandemtest.Namespace(t, client, labels)
			}
			pod := gatedPod(c.annotation, c.optOut)
			before := readAdmissionMetrics(t)
			created, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
			after := readAdmissionMetrics(t)
			if err == nil {
				t.Cleanup(func() {
					_ = client.CoreV1().Pods(ns).Delete(context.Background(), created.Name, metav1.DeleteOptions{})
				})
			}
			got := after.sub(before)
			if got.conditionErrors != 0 {
				t.Errorf("%v matchCondition evaluation errors", got.conditionErrors)
			}
			sent := slices.Sorted(maps.Keys(got.requests))
			switch c.want {
			case notSent:
				if err != nil {
					t.Errorf("the create failed: %v", err)
				}
				if len(sent) > 0 {
					t.Errorf("the API server called %v", sent)
				}
			case denied:
				if want := fmt.Sprintf("failed calling webhook %q", c.entry); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("the create returned %v; want an error with %s", err, want)
				}
				if !slices.Equal(sent, []string{c.entry}) {
					t.Errorf("the API server called %v, want %s alone", sent, c.entry)
				}
			case failedOpen:
				if err != nil {
					t.Errorf("the create failed: %v", err)
				}
				if got.failOpen[c.entry] < 1 {
					t.Errorf("%s did not fail open (fail-open counts went up by %v)", c.entry, got.failOpen)
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

// gatedPod is a pod nothing will run: it has a scheduling gate, and there is no node.
func gatedPod(annotation *string, optOut bool) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "routed-"},
		Spec: corev1.PodSpec{
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "e2e.tandem.io/never"}},
			Containers:      []corev1.Container{{Name: "app", Image: images.PauseTag}},
		},
	}
	if annotation != nil {
		pod.Annotations = map[string]string{"tandem.io/inject": *annotation}
	}
	if optOut {
		pod.Labels = map[string]string{"tandem.io/inject": "false"}
	}
	return pod
}

// waitDenied waits until the API server has loaded the webhook configuration: a pod
// asking for a mandatory sidecar is denied. It loads configurations asynchronously.
func waitDenied(t *testing.T) {
	t.Helper()
	ns := tandemtest.Namespace(t, client, nil)
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, last = client.CoreV1().Pods(ns).Create(ctx, gatedPod(new("seed"), false), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return last != nil && strings.Contains(last.Error(), failPod), nil
	})
	if err != nil {
		t.Fatalf("the API server did not start denying pods through %s: last create returned %v", failPod, last)
	}
}

// admissionMetrics are the API server's admission counters the routing test reads.
type admissionMetrics struct {
	requests        map[string]float64 // apiserver_admission_webhook_request_total, by entry
	failOpen        map[string]float64 // apiserver_admission_webhook_fail_open_count, by entry
	conditionErrors float64            // apiserver_admission_match_condition_evaluation_errors_total
}

// sub is the change from before to m; entries that did not change are left out.
func (m admissionMetrics) sub(before admissionMetrics) admissionMetrics {
	diff := func(now, then map[string]float64) map[string]float64 {
		d := map[string]float64{}
		for k, v := range now {
			if v != then[k] {
				d[k] = v - then[k]
			}
		}
		return d
	}
	return admissionMetrics{
		requests:        diff(m.requests, before.requests),
		failOpen:        diff(m.failOpen, before.failOpen),
		conditionErrors: m.conditionErrors - before.conditionErrors,
	}
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$`)
	nameLabel  = regexp.MustCompile(`(?:^|,)name="([^"]*)"`)
)

// readAdmissionMetrics reads /metrics of the API server as its admin.
func readAdmissionMetrics(t *testing.T) admissionMetrics {
	t.Helper()
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m := admissionMetrics{requests: map[string]float64{}, failOpen: map[string]float64{}}
	for line := range bytes.Lines(body) {
		s := sampleLine.FindSubmatch(bytes.TrimSpace(line))
		if s == nil {
			continue
		}
		v, err := strconv.ParseFloat(string(s[3]), 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		var name string
		if n := nameLabel.FindSubmatch(s[2]); n != nil {
			name = string(n[1])
		}
		switch string(s[1]) {
		case "apiserver_admission_webhook_request_total":
			m.requests[name] += v
		case "apiserver_admission_webhook_fail_open_count":
			m.failOpen[name] += v
		case "apiserver_admission_match_condition_evaluation_errors_total":
			m.conditionErrors += v
		}
	}
	return m
}
