package inject

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/jsonscan"
)

// TestPatchProperty generates pods of every shape the patch builder distinguishes (with
// and without metadata, labels, annotations, init containers, volumes, env and mounts;
// keys with "/" and "~") and random selections of sidecars, and checks for each: the
// patch applies to the raw pod with a JSON Patch library, gives the same pod as a typed
// application of the plan, and a second run on the result changes nothing.
func TestPatchProperty(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "inject", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"seed", "proxy", "logs", "awkward", "clash-soft", "vault"}
	rng := rand.New(rand.NewPCG(1, 2))
	injectedSome := 0
	var reused Pod // read into again and again, as the webhook does
	for i := range 2000 {
		pod := randomPod(rng, names)
		raw, _ := json.Marshal(pod)
		ns := Namespace{Name: "default", LabelsKnown: true, Labels: map[string]string{"vault.example.com/allowed": "true"}}
		opts := Options{NativeSidecars: rng.IntN(2) == 0}
		res, p, err := inject(raw, ns, cfg, opts)
		if err := sameAsReused(&reused, raw, ns, cfg, opts, res, err); err != nil {
			t.Fatalf("case %d: %v\npod: %s", i, err, raw)
		}
		if err != nil {
			continue // clashes of mandatory sidecars are denials; the goldens cover them
		}
		if res.Patch == nil {
			continue
		}
		injectedSome++
		if err := checkPatch(raw, res.Patch, p); err != nil {
			t.Fatalf("case %d: %v\npod: %s", i, err, raw)
		}
		out, _ := Apply(raw, res.Patch)
		again, err := Inject(out, ns, cfg, opts)
		if err != nil || again.Patch != nil {
			t.Fatalf("case %d: a second run is not a no-op: patch %s, err %v", i, again.Patch, err)
		}
	}
	if injectedSome < 500 {
		t.Fatalf("only %d of 2000 random pods were injected: the generator is too narrow", injectedSome)
	}
}

// randomPod builds a pod as a generic map, so that absent and empty fields both occur.
func randomPod(rng *rand.Rand, names []string) map[string]any {
	pick := func() bool { return rng.IntN(2) == 0 }
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod"}
	meta := map[string]any{}
	if pick() {
		meta["name"] = fmt.Sprintf("pod-%d", rng.IntN(1000))
	}
	if pick() {
		meta["labels"] = randomKeys(rng, "app")
	}
	annotations := randomKeys(rng, "note")
	if n := rng.IntN(3); n > 0 {
		chosen := make([]string, n)
		for i := range chosen {
			chosen[i] = names[rng.IntN(len(names))]
		}
		annotations[InjectKey] = strings.Join(chosen, ",")
	}
	if len(annotations) > 0 || pick() {
		meta["annotations"] = annotations
	}
	if len(meta) > 0 || pick() {
		pod["metadata"] = meta
	}
	spec := map[string]any{}
	var containers []any
	for i := range 1 + rng.IntN(3) {
		c := map[string]any{"name": fmt.Sprintf("c%d", i), "image": "example.com/app:1"}
		if pick() {
			c["env"] = []any{map[string]any{"name": "HTTP_PROXY", "value": "x"}}
		} else if pick() {
			c["env"] = []any{}
		}
		if pick() {
			c["volumeMounts"] = []any{map[string]any{"name": "v0", "mountPath": "/var/log/app"}}
		}
		if pick() {
			c["ports"] = []any{map[string]any{"containerPort": 8080 + rng.IntN(2)*7000}}
		}
		containers = append(containers, c)
	}
	spec["containers"] = containers
	if pick() {
		spec["initContainers"] = []any{map[string]any{"name": "init", "image": "example.com/init:1"}}
	}
	if pick() {
		spec["volumes"] = []any{map[string]any{"name": "v0", "emptyDir": map[string]any{}}}
	}
	if pick() {
		spec["imagePullSecrets"] = []any{map[string]any{"name": "other"}}
	}
	pod["spec"] = spec
	return pod
}

// randomKeys returns zero to three entries whose keys include "/" and "~".
func randomKeys(rng *rand.Rand, base string) map[string]any {
	keys := []string{base, "example.com/" + base, "a~b/" + base, "x~1y"}
	m := map[string]any{}
	for range rng.IntN(4) {
		m[keys[rng.IntN(len(keys))]] = "v"
	}
	return m
}

// sameAsReused checks that a Pod read into after other pods injects exactly like a fresh
// one: nothing of an earlier pod leaks into the next.
func sameAsReused(reused *Pod, raw []byte, ns Namespace, cfg *config.Config, opts Options, want Result, wantErr error) error {
	if err := reused.Read(jsonscan.New(raw)); err != nil {
		return fmt.Errorf("reading into a reused Pod: %v", err)
	}
	got, err := InjectPod(reused, ns, cfg, opts)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		return fmt.Errorf("a reused Pod gives %+v, %v; a fresh one %+v, %v", got, err, want, wantErr)
	}
	return nil
}
