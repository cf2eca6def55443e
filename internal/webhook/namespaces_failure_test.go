package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/internal/inject"
)

// fakeAPIServer answers what the namespace cache asks of a real one: a list and a watch
// of namespaces (empty, so that every lookup misses the cache) and GETs of one namespace,
// which get reports: labels and status.
type fakeAPIServer struct {
	get  func(name string) (labels map[string]string, status int)
	gets atomic.Int64
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	name, one := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/")
	switch {
	case r.URL.Path == "/api/v1/namespaces" && r.URL.Query().Get("watch") == "true":
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a watch that never sees an event
	case r.URL.Path == "/api/v1/namespaces":
		fmt.Fprint(w, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"1"},"items":[]}`)
	case one:
		f.gets.Add(1)
		labels, status := f.get(name)
		if status != http.StatusOK {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","code":%d,"reason":%q}`, status, http.StatusText(status))
			return
		}
		object, _ := json.Marshal(map[string]any{
			"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
			"metadata": map[string]any{"name": name, "labels": labels, "resourceVersion": "2"},
		})
		w.Write(object)
	default:
		http.NotFound(w, r)
	}
}

// startWithAPIServer runs Tandem's server against api as its cluster, with the test
// configuration (proxy mandatory).
func startWithAPIServer(t *testing.T, api *fakeAPIServer) *testServer {
	t.Helper()
	cluster := httptest.NewServer(api)
	t.Cleanup(cluster.Close)
	cfg := testConfig(t)
	return startServer(t, Options{Config: cfg, Cluster: &rest.Config{Host: cluster.URL}}, nil)
}

// admitInShop sends the review of a pod that asks for nothing itself, in namespace shop,
// whose label asks for the mandatory proxy.
func admitInShop(t *testing.T, ts *testServer) (int, []byte) {
	t.Helper()
	return ts.admit(t, ts.pki.client(false), podReview(pod(nil, nil, "app"), inNamespace("shop")))
}

var shopLabels = map[string]string{inject.InjectKey: "proxy"}

func TestNamespaceLabelsUnknownFailsTheCall(t *testing.T) {
	tests := map[string]int{
		"the API server answers 500":          http.StatusInternalServerError,
		"the API server says it is too busy":  http.StatusTooManyRequests,
		"the API server says it is forbidden": http.StatusForbidden,
	}
	for name, status := range tests {
		t.Run(name, func(t *testing.T) {
			ts := startWithAPIServer(t, &fakeAPIServer{get: func(string) (map[string]string, int) { return nil, status }})
			got, body := admitInShop(t, ts)
			if got != http.StatusServiceUnavailable {
				t.Fatalf("status %d (%s), want 503: a pod whose namespace labels are unknown must not be allowed as if they asked for nothing", got, body)
			}
			if !strings.Contains(string(body), `namespace "shop"`) {
				t.Errorf("the error does not name the namespace: %s", body)
			}
			if n := ts.metric(t, `tandem_admission_requests_total{operation="CREATE",reason="NamespaceUnknown",result="error"}`); n != 1 {
				t.Errorf("%v calls counted as NamespaceUnknown, want 1", n)
			}
		})
	}
}

// Reviews naming made-up namespaces (anyone who reaches the port can send them) must not
// use up what the lookup of a real namespace needs.
func TestNamespaceLookupsAreNotStarvedByMadeUpNamespaces(t *testing.T) {
	api := &fakeAPIServer{get: func(name string) (map[string]string, int) {
		if name == "shop" {
			return shopLabels, http.StatusOK
		}
		return nil, http.StatusNotFound
	}}
	ts := startWithAPIServer(t, api)
	client := ts.pki.client(false)
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			status, body, err := ts.post(client, podReview(pod(nil, nil, "app"), inNamespace(fmt.Sprintf("made-up-%d", i))))
			if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(string(body), "does not exist") {
				t.Errorf("a made-up namespace: status %d, %s, %v; want 503 saying it does not exist", status, body, err)
			}
		})
	}
	wg.Wait()

	status, body := admitInShop(t, ts)
	if status != http.StatusOK {
		t.Fatalf("status %d (%s), want the pod injected", status, body)
	}
	review := decodeReview(t, body)
	if !review.Response.Allowed || len(review.Response.Patch) == 0 {
		t.Fatalf("response %+v: want the pod allowed with the proxy patched in", review.Response)
	}
	if !strings.Contains(string(review.Response.Patch), `"name":"proxy"`) {
		t.Errorf("the patch does not add the proxy: %s", review.Response.Patch)
	}
	if n := api.gets.Load(); n != 61 {
		t.Errorf("%d lookups, want 61 (one per namespace)", n)
	}
}

// A burst of pods of a new namespace costs one lookup, not one per pod.
func TestNamespaceLookupsOfOneNamespaceAreShared(t *testing.T) {
	release := make(chan struct{})
	api := &fakeAPIServer{get: func(string) (map[string]string, int) {
		<-release
		return shopLabels, http.StatusOK
	}}
	ts := startWithAPIServer(t, api)
	client := ts.pki.client(false)
	var wg sync.WaitGroup
	var injected atomic.Int64
	for range 20 {
		wg.Go(func() {
			status, body, err := ts.post(client, podReview(pod(nil, nil, "app"), inNamespace("shop")))
			if err == nil && status == http.StatusOK && strings.Contains(string(body), `"patch"`) {
				injected.Add(1)
			}
		})
	}
	eventually(t, "the first lookup reaches the API server", func() bool { return api.gets.Load() > 0 })
	close(release)
	wg.Wait()
	if injected.Load() != 20 {
		t.Errorf("%d of 20 pods injected", injected.Load())
	}
	if n := api.gets.Load(); n >= 20 {
		t.Errorf("%d lookups for 20 pods of one namespace, want them shared", n)
	}
}
