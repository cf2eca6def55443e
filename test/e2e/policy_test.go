package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/certs"
	"github.com/tandem-io/tandem/test/e2e/tandemtest"
)

// With Tandem down, a failurePolicy Fail webhook stops pod creation with a clear error,
// and an Ignore one lets pods through uninjected.
func TestFailurePolicyWhenTandemIsDown(t *testing.T) {
	down, err := startTandem(t.Context(), "down")
	if err != nil {
		t.Fatal(err)
	}
	failNS := namespace(t, map[string]string{webhookLabel: "down-fail"})
	ignoreNS := namespace(t, map[string]string{webhookLabel: "down-ignore"})
	for route, policy := range map[string]admissionregistrationv1.FailurePolicyType{"down-fail": admissionregistrationv1.Fail, "down-ignore": admissionregistrationv1.Ignore} {
		w := tandemtest.Webhook{Name: "tandem-" + route, URL: down.URL, CABundle: down.CABundle, FailurePolicy: policy, Namespaces: routedTo(route)}
		register(t, w)
	}
	for _, ns := range []string{failNS, ignoreNS} {
		if err := tandemtest.WaitActive(t.Context(), client, ns, "seed"); err != nil {
			t.Fatal(err)
		}
	}
	if err := down.Stop(); err != nil {
		t.Fatal(err)
	}
	_, err = client.CoreV1().Pods(failNS).Create(t.Context(), pod("blocked", nil, map[string]string{"tandem.io/inject": "seed"}), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), `failed calling webhook "inject.tandem.io"`) {
		t.Errorf("with failurePolicy Fail and Tandem down, want a clear webhook error, got %v", err)
	}
	p, err := client.CoreV1().Pods(ignoreNS).Create(t.Context(), pod("through", nil, map[string]string{"tandem.io/inject": "seed"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("with failurePolicy Ignore and Tandem down, the pod was refused: %v", err)
	}
	if p.Labels["foo"] != "" || p.Annotations["tandem.io/status"] != "" {
		t.Errorf("a pod admitted while Tandem was down claims injection: %v %v", p.Labels, p.Annotations)
	}
}

// A second mutating webhook changes the pod after Tandem; with reinvocationPolicy
// IfNeeded the API server calls Tandem again, and the pod is still injected exactly once.
func TestReinvocationInjectsOnce(t *testing.T) {
	ns := namespace(t, map[string]string{webhookLabel: "reinvoke"})
	other := startOtherWebhook(t)
	// Webhooks run in the order of their configurations' names: Tandem first.
	register(t, tandemtest.Webhook{Name: "a-tandem-reinvoke", URL: tandem.URL, CABundle: tandem.CABundle, Namespaces: routedTo("reinvoke")})
	register(t, tandemtest.Webhook{Name: "b-other-reinvoke", URL: other.url, CABundle: other.ca, Namespaces: routedTo("reinvoke")})
	if err := waitFor(t, 30*time.Second, func() bool {
		p, err := client.CoreV1().Pods(ns).Create(t.Context(), pod("probe", nil, nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && p.Labels["touched"] == "yes"
	}); err != nil {
		t.Fatalf("the second webhook never ran: %v", err)
	}
	before := admissions(t)
	p, err := client.CoreV1().Pods(ns).Create(t.Context(), pod("twice", nil, map[string]string{"tandem.io/inject": "seed,proxy"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if calls := admissions(t) - before; calls < 2 {
		t.Errorf("Tandem saw %d admissions of the pod; want at least 2 (the second a reinvocation)", calls)
	}
	all := append(containerNames(p.Spec.InitContainers), containerNames(p.Spec.Containers)...)
	for _, name := range []string{"proxy", "proxy-init", "extra"} {
		if n := countOf(all, name); n != 1 {
			t.Errorf("container %s appears %d times in %v; want once", name, n, all)
		}
	}
	if p.Labels["foo"] != "bar" || p.Labels["touched"] != "yes" {
		t.Errorf("labels %v: want both webhooks' labels", p.Labels)
	}
}

func register(t *testing.T, w tandemtest.Webhook) {
	t.Helper()
	if err := w.Register(t.Context(), client); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tandemtest.Unregister(context.Background(), client, w.Name) })
}

func countOf(list []string, s string) int {
	n := 0
	for _, e := range list {
		if e == s {
			n++
		}
	}
	return n
}

// admissions sums tandem_admission_requests_total over all its series.
func admissions(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(tandem.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "tandem_admission_requests_total{") {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			total += v
		}
	}
	return int(total)
}

type otherWebhook struct {
	url string
	ca  []byte
}

// startOtherWebhook serves a mutating webhook that adds a container "extra" and the label
// touched=yes, as another product's injector might.
func startOtherWebhook(t *testing.T) otherWebhook {
	t.Helper()
	ca, err := certs.NewCA("other-webhook", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Issue([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tlsPair(pair)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(otherMutate), ReadHeaderTimeout: 5 * time.Second}
	srv.TLSConfig = cert
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return otherWebhook{url: "https://" + l.Addr().String() + "/", ca: ca.CertPEM}
}

func otherMutate(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	var pod struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Containers []struct {
				Name string `json:"name"`
			} `json:"containers"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(review.Request.Object.Raw, &pod)
	var ops []map[string]any
	if pod.Metadata.Labels == nil {
		ops = append(ops, map[string]any{"op": "add", "path": "/metadata/labels", "value": map[string]string{}})
	}
	ops = append(ops, map[string]any{"op": "add", "path": "/metadata/labels/touched", "value": "yes"})
	if !slices.ContainsFunc(pod.Spec.Containers, func(c struct {
		Name string `json:"name"`
	}) bool {
		return c.Name == "extra"
	}) {
		ops = append(ops, map[string]any{"op": "add", "path": "/spec/containers/-", "value": map[string]string{"name": "extra", "image": "registry.k8s.io/pause:3.10"}})
	}
	patch, _ := json.Marshal(ops)
	pt := admissionv1.PatchTypeJSONPatch
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Patch: patch, PatchType: &pt}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}
