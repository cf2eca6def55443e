package audit

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/tandem-io/tandem/examples"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// testConfig is examples/config.yaml: the sidecars seed, proxy and logs.
func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse(examples.Config, "examples/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// statusOf is the tandem.io/status a pod admitted now with these sidecars carries.
func statusOf(t testing.TB, cfg *config.Config, names ...string) string {
	t.Helper()
	st := inject.Status{}
	for _, n := range names {
		st.Sidecars = append(st.Sidecars, inject.EntryOf(cfg.Sidecar(n)))
	}
	return st.Format()
}

// staleStatus is the status of a pod injected with an older definition of name.
func staleStatus(name string) string {
	return `{"sidecars":[{"name":"` + name + `","hash":"000000000000"}]}`
}

func asks(sidecars string) map[string]string { return map[string]string{inject.InjectKey: sidecars} }

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func controller(apiVersion, kind, name string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: &yes}}
}

func object(apiVersion, kind, namespace, name string, owners []metav1.OwnerReference, labels, annotations map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name, OwnerReferences: owners, Labels: labels, Annotations: annotations,
		},
	}
}

func podObject(namespace, name string, owners []metav1.OwnerReference, annotations map[string]string) *metav1.PartialObjectMetadata {
	return object("v1", "Pod", namespace, name, owners, nil, annotations)
}

func namespaceObject(name string, labels map[string]string) *metav1.PartialObjectMetadata {
	return object("v1", "Namespace", "", name, nil, labels, nil)
}

func fakeClient(t testing.TB, objects ...runtime.Object) *metadatafake.FakeMetadataClient {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return metadatafake.NewSimpleMetadataClient(scheme, objects...)
}
