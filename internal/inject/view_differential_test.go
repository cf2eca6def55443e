package inject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"

	"github.com/tandem-io/tandem/internal/benchdata"
	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/jsonscan"
	"github.com/tandem-io/tandem/internal/manifest"
)

// The pod view (view.go) is a hand-written reader; these tests hold it to the typed
// corev1.Pod that the API server itself decodes, reading every field the view reads:
//
//	metadata.name, metadata.generateName, metadata.namespace
//	metadata.labels, metadata.annotations                 (keys and values)
//	spec.containers[] and spec.initContainers[]:
//	    name, ports[].containerPort, ports[].protocol, env[].name, volumeMounts[].mountPath
//	spec.volumes[].name, spec.imagePullSecrets[].name, spec.hostNetwork
//
// The view reads nothing else (not port or mount names), but it checks the rest of the
// pod against JSON's grammar, and the comparison covers that too: what the typed decode
// accepts, the view must not call malformed.
//
// The typed side is sigs.k8s.io/json, as the API server uses it: member names match
// case-sensitively (so "Name" is an unknown field to both), and duplicate names are
// reported. Three kinds of input may legitimately differ:
//
//   - Duplicate member names (in a pod's objects or its label and annotation maps). The
//     typed decode merges a repeated object into the first and adds a repeated map to the
//     first map; the view keeps the last value whole. The API server never sends them,
//     since it writes the pod from its own typed object, and rejects or warns about them
//     in what users send, so nothing is compared for such input.
//   - Invalid UTF-8 in strings. The typed decode replaces each bad byte with U+FFFD; the
//     view keeps the bytes (jsonscan's documented choice: the writers that quote them
//     replace them). Strings are compared after that same replacement, so nothing else
//     may differ.
//   - Input the view rejects and the typed decode accepts. A rejection is a denial with a
//     reason, never a wrong patch, so it is allowed, but only for these inputs, none of
//     which is a pod the API server could send or admit: a pod that is null (the typed
//     decode of null is a no-op), nesting deeper than jsonscan's bound of 512 levels,
//     a containerPort that is null (the typed decode leaves 0, which validation
//     rejects), and a container or init container that is null (no patch can add a
//     member to it). Any other rejection fails the test.
//
// Null elements of lists are read as the API server reads them: an empty element (a
// null container is refused, as above), so indexes in the patch stay right.

// podFacts is everything the view reads, in a form both readers fill.
type podFacts struct {
	Name, GenerateName, Namespace string
	Labels, Annotations           map[string]string
	Containers, InitContainers    []containerFacts
	Volumes, ImagePullSecrets     []string
	HostNetwork                   bool
}

type containerFacts struct {
	Name         string
	Ports        []portFacts
	Env          []string // names
	VolumeMounts []string // mount paths
}

type portFacts struct {
	ContainerPort int32
	Protocol      string
}

// normalize makes empty maps and lists nil, which no reader of the view tells apart.
func (f *podFacts) normalize() {
	if len(f.Labels) == 0 {
		f.Labels = nil
	}
	if len(f.Annotations) == 0 {
		f.Annotations = nil
	}
	f.Containers, f.InitContainers = nilIfEmpty(f.Containers), nilIfEmpty(f.InitContainers)
	f.Volumes, f.ImagePullSecrets = nilIfEmpty(f.Volumes), nilIfEmpty(f.ImagePullSecrets)
	for _, cs := range [][]containerFacts{f.Containers, f.InitContainers} {
		for i := range cs {
			c := &cs[i]
			c.Ports, c.Env, c.VolumeMounts = nilIfEmpty(c.Ports), nilIfEmpty(c.Env), nilIfEmpty(c.VolumeMounts)
		}
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// replaced is s with each byte that is not part of valid UTF-8 replaced with U+FFFD, as
// encoding/json (and so sigs.k8s.io/json) does when it decodes a string.
func replaced(s string) string { return string([]rune(s)) }

func replacedMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[replaced(k)] = replaced(v)
	}
	return out
}

func replacedAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = replaced(v)
	}
	return out
}

func factsOfView(v *podView) podFacts {
	var f podFacts
	if m := v.Metadata; m != nil {
		f.Name, f.GenerateName, f.Namespace = replaced(m.Name), replaced(m.GenerateName), replaced(m.Namespace)
		f.Labels, f.Annotations = replacedMap(m.Labels), replacedMap(m.Annotations)
	}
	if s := v.Spec; s != nil {
		containers := func(cs []containerView) []containerFacts {
			out := make([]containerFacts, len(cs))
			for i, c := range cs {
				out[i] = containerFacts{Name: replaced(c.Name), Env: replacedAll(c.Names[config.FieldEnv]), VolumeMounts: replacedAll(c.Names[config.FieldVolumeMounts])}
				for _, p := range c.Ports {
					out[i].Ports = append(out[i].Ports, portFacts{p.ContainerPort, replaced(p.Protocol)})
				}
			}
			return out
		}
		f.Containers, f.InitContainers = containers(s.Containers), containers(s.InitContainers)
		f.Volumes, f.ImagePullSecrets = replacedAll(s.Names[config.FieldVolumes]), replacedAll(s.Names[config.FieldImagePullSecrets])
		f.HostNetwork = s.HostNetwork
	}
	return f
}

func factsOfTyped(p *corev1.Pod) podFacts {
	f := podFacts{
		Name: p.Name, GenerateName: p.GenerateName, Namespace: p.Namespace,
		Labels: p.Labels, Annotations: p.Annotations,
		HostNetwork: p.Spec.HostNetwork,
	}
	containers := func(cs []corev1.Container) []containerFacts {
		out := make([]containerFacts, len(cs))
		for i, c := range cs {
			out[i].Name = c.Name
			for _, p := range c.Ports {
				out[i].Ports = append(out[i].Ports, portFacts{p.ContainerPort, string(p.Protocol)})
			}
			for _, e := range c.Env {
				out[i].Env = append(out[i].Env, e.Name)
			}
			for _, m := range c.VolumeMounts {
				out[i].VolumeMounts = append(out[i].VolumeMounts, m.MountPath)
			}
		}
		return out
	}
	f.Containers, f.InitContainers = containers(p.Spec.Containers), containers(p.Spec.InitContainers)
	for _, v := range p.Spec.Volumes {
		f.Volumes = append(f.Volumes, v.Name)
	}
	for _, s := range p.Spec.ImagePullSecrets {
		f.ImagePullSecrets = append(f.ImagePullSecrets, s.Name)
	}
	return f
}

// viewOutcome is what the comparison of one input came to.
type viewOutcome int

const (
	typedRejects   viewOutcome = iota // not a pod: nothing to hold the view to
	duplicateNames                    // tolerated, see above
	viewRejects                       // an allowed rejection, see above
	sameFacts                         // both read it, and read the same
)

// dirtyPod is read into the reused view before each input, so that memory left from a
// pod with everything set must not leak into the next.
var dirtyPod = []byte(`{"metadata":{"name":"old","generateName":"old-","namespace":"old",
 "labels":{"old":"1","k":"v"},"annotations":{"old":"1"}},
 "spec":{"containers":[{"name":"a","ports":[{"containerPort":1,"protocol":"UDP"},{"containerPort":2}],
 "env":[{"name":"E1"},{"name":"E2"}],"volumeMounts":[{"mountPath":"/m"}]},{"name":"b"},{"name":"c"}],
 "initContainers":[{"name":"i","env":[{"name":"I"}]}],"volumes":[{"name":"v1"},{"name":"v2"}],
 "imagePullSecrets":[{"name":"s"}],"hostNetwork":true}}`)

// compareViewWithTyped reads raw with the view (fresh, and reused after another pod) and
// with the typed decode, and returns an error for any difference the rules above do not
// allow.
func compareViewWithTyped(raw []byte) (viewOutcome, error) {
	fresh, viewErr := decodePod(raw)
	var reused podView
	if err := reused.read(jsonscan.New(dirtyPod)); err != nil {
		return 0, fmt.Errorf("the dirty pod: %v", err)
	}
	s := jsonscan.New(raw)
	reusedErr := reused.read(s)
	if reusedErr == nil {
		reusedErr = s.End()
	}
	if (viewErr == nil) != (reusedErr == nil) {
		return 0, fmt.Errorf("a fresh view says %v, a reused one %v", viewErr, reusedErr)
	}

	var typed corev1.Pod
	strict, typedErr := kjson.UnmarshalStrict(raw, &typed, kjson.DisallowDuplicateFields)
	switch {
	case typedErr != nil:
		return typedRejects, nil
	case len(strict) > 0:
		return duplicateNames, nil
	}
	var shape podShape
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &shape); err != nil {
		return 0, fmt.Errorf("the typed decode accepts what a decode of the pod's lists does not: %v", err)
	}
	if viewErr != nil {
		if why := allowedRejection(raw, &shape); why != "" {
			return viewRejects, nil
		}
		return 0, fmt.Errorf("the view rejects a pod the typed decode accepts: %v", viewErr)
	}
	want := factsOfTyped(&typed)
	want.normalize()
	for _, v := range []struct {
		name string
		view *podView
	}{{"the view", fresh}, {"a reused view", &reused}} {
		got := factsOfView(v.view)
		got.normalize()
		if !reflect.DeepEqual(want, got) { // cmp only for the message: it is much slower
			return 0, fmt.Errorf("%s reads differently from corev1.Pod (-typed +view):\n%s", v.name, cmp.Diff(want, got))
		}
	}
	return sameFacts, nil
}

// podShape is the input's lists that the view reads, with a null element as a nil one
// and a null containerPort as "null": what tells the allowed differences apart.
type podShape struct {
	Spec struct {
		Containers       []*containerShape `json:"containers"`
		InitContainers   []*containerShape `json:"initContainers"`
		Volumes          []*struct{}       `json:"volumes"`
		ImagePullSecrets []*struct{}       `json:"imagePullSecrets"`
	} `json:"spec"`
}

type containerShape struct {
	Ports []*struct {
		ContainerPort json.RawMessage `json:"containerPort"`
	} `json:"ports"`
	Env          []*struct{} `json:"env"`
	VolumeMounts []*struct{} `json:"volumeMounts"`
}

// allowedRejection names the allowed reason to reject raw, or returns "".
func allowedRejection(raw []byte, shape *podShape) string {
	switch {
	case string(bytes.TrimSpace(raw)) == "null":
		return "the pod is null"
	case depth(raw) > 512:
		return "nested too deep"
	}
	for _, c := range append(shape.Spec.Containers, shape.Spec.InitContainers...) {
		if c == nil {
			return "a null container"
		}
		for _, p := range c.Ports {
			if p != nil && string(p.ContainerPort) == "null" {
				return "a null containerPort"
			}
		}
	}
	return ""
}

// depth is how deeply raw, valid JSON, nests arrays and objects.
func depth(raw []byte) int {
	deepest, d, inString := 0, 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// TestViewMatchesCorev1 generates pods as JSON text, written by hand so that it holds
// what encoding/json never writes (escaped member names, \u escapes, invalid UTF-8,
// white space everywhere, members in any order, repeated names, unknown and deeply
// nested members, nulls), and compares the view with the typed decode on each.
func TestViewMatchesCorev1(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const n = 2000
	counts := map[viewOutcome]int{}
	for i := range n {
		raw := randomPodJSON(rng)
		outcome, err := compareViewWithTyped(raw)
		if err != nil {
			t.Fatalf("case %d: %v\npod: %s", i, err, raw)
		}
		counts[outcome]++
	}
	t.Logf("same: %d, duplicate names: %d, allowed rejections: %d, not a pod: %d",
		counts[sameFacts], counts[duplicateNames], counts[viewRejects], counts[typedRejects])
	// The generator writes valid pods but for a few deliberate cases; if most of them stop
	// reaching the comparison, it no longer tests the view.
	if counts[sameFacts] < n*8/10 {
		t.Fatalf("only %d of %d pods were compared: the generator is off", counts[sameFacts], n)
	}
	if counts[duplicateNames] == 0 || counts[viewRejects] == 0 {
		t.Fatalf("the generator no longer writes repeated names or allowed rejections: %v", counts)
	}
}

// TestViewMatchesCorev1OnKnownPods compares the view with the typed decode on every pod
// the other tests use: the three reference admission reviews' pods and the pods and
// templates of the golden inputs. They are pods as users and the API server write them,
// so each must be read, and read alike.
func TestViewMatchesCorev1OnKnownPods(t *testing.T) {
	pods := knownPods(t)
	if len(pods) < 20 {
		t.Fatalf("only %d known pods", len(pods))
	}
	for name, raw := range pods {
		outcome, err := compareViewWithTyped(raw)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if outcome != sameFacts {
			t.Errorf("%s: not compared (outcome %d)", name, outcome)
		}
	}
}

// knownPods returns the reference pods and the pods of testdata/inject by name.
func knownPods(t testing.TB) map[string][]byte {
	pods := map[string][]byte{}
	for _, name := range benchdata.Payloads {
		pod, err := benchdata.Object(name)
		if err != nil {
			t.Fatal(err)
		}
		pods["reference "+name] = pod
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "inject", "*.yaml"))
	for _, in := range inputs {
		if filepath.Base(in) == "config.yaml" {
			continue
		}
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := manifest.Read(data)
		if err != nil {
			continue // an input whose error the golden file records
		}
		n := 0
		_ = manifest.Transform(docs, func(raw []byte, _ string) ([]byte, error) {
			n++
			pods[fmt.Sprintf("%s #%d", filepath.Base(in), n)] = bytes.Clone(raw)
			return raw, nil
		})
	}
	return pods
}

// FuzzViewMatchesCorev1: for any input the typed decode accepts as a pod, the view reads
// the same fields or rejects it for an allowed reason (see the top of this file).
func FuzzViewMatchesCorev1(f *testing.F) {
	for _, raw := range knownPods(f) {
		if len(raw) < 10000 { // the larger reference pods slow the fuzzer more than they teach it
			f.Add(raw)
		}
	}
	rng := rand.New(rand.NewPCG(3, 5))
	for range 8 {
		f.Add(randomPodJSON(rng))
	}
	for _, seed := range []string{
		`{"metadata":{"n\u0061me":"\u00e9\ud83d\ude00\"\\\/","labels":{"a\u0000":"\ud800"}},"spec":{}}`,
		"{\"metadata\":{\"name\":\"\xff\xfe\",\"labels\":{\"\xc3\":\"\xed\xa0\x80\"}}}",
		`{"metadata":{"Name":"x","labels":null,"annotations":{}},"Spec":{"containers":5},"spec":null}`,
		`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":-0,"protocol":null},{"containerPort":2147483647}]}]}}`,
		`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":null}]}]}}`,
		`{"spec":{"containers":[{"name":"a","env":[null,{"name":"E"}],"ports":[null],"volumeMounts":[null]}],
		  "initContainers":[{"env":[null]}],"volumes":[null,{"name":"v"}],"imagePullSecrets":[null]}}`,
		`{"spec":{"containers":[null,{"name":"a"}],"initContainers":[null]}}`,
		`{"metadata":{"name":"a","name":"b","labels":{"k":"1"},"labels":{"j":"2"}},"metadata":{"namespace":"n"}}`,
		`{"x":[[[[[[[[[[{"y":[[[[[[[[[[]]]]]]]]]]}]]]]]]]]]],"spec":{"volumes":[{"name":"v","emptyDir":{}}]}}`,
		`null`, `{}`, ` { } `, `{"spec":{"containers":[{}],"initContainers":[]}}`,
		`{"spec":{"hostNetwork":true}}`, `{"spec":{"hostNetwork":null}}`, `{"spec":{"hostNetwork":false,"HostNetwork":true}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := compareViewWithTyped(raw); err != nil {
			t.Fatalf("%v\npod: %q", err, raw)
		}
	})
}

// Null elements are read as empty ones, as the typed decode (and the API server) reads
// them, so that the patch appends after them rather than replacing the list.
func TestViewReadsNullElementsAsEmpty(t *testing.T) {
	raw := []byte(`{"spec":{"containers":[{"name":"a","env":[null,{"name":"E"}]}],"volumes":[null]}}`)
	var typed corev1.Pod
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &typed); err != nil {
		t.Fatal(err)
	}
	if len(typed.Spec.Containers) != 1 || len(typed.Spec.Containers[0].Env) != 2 || len(typed.Spec.Volumes) != 1 {
		t.Fatalf("the typed decode reads %+v", typed.Spec)
	}
	if _, err := compareViewWithTyped(raw); err != nil {
		t.Fatal(err)
	}
}
