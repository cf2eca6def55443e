package config

import (
	"slices"
	"strings"
	"testing"
)

const recordBase = `
sidecars:
  - name: proxy
    description: The mesh proxy.
    containers:
      - name: proxy
        image: envoy:{{ .Values.version }}
        args: ["--level={{ .Values.level }}"]
        resources: {requests: {cpu: 100m}}
    env:
      - {name: HTTP_PROXY, value: "http://127.0.0.1:15001"}
    volumes:
      - {name: certs, emptyDir: {}}
    labels: {mesh: "on"}
    imagePullSecrets: [{name: regcred}]
    values: {version: v1.31.0, level: info}
    overridable: {version: ""}
`

// changedParts loads the base and an edited copy, and lists the record keys whose
// hashes differ, and whether the sidecar's hash changed.
func changedParts(t *testing.T, old, new string) ([]string, bool) {
	t.Helper()
	a, err := Parse([]byte(recordBase), "base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(recordBase, old, new, 1)
	if edited == recordBase {
		t.Fatalf("%q is not in the base config", old)
	}
	b, err := Parse([]byte(edited), "edited.yaml")
	if err != nil {
		t.Fatal(err)
	}
	x, y := a.Sidecar("proxy"), b.Sidecar("proxy")
	var keys []string
	for _, p := range x.Record {
		i := slices.IndexFunc(y.Record, func(q RecordPart) bool { return q.Key == p.Key })
		if i < 0 || y.Record[i].Hash != p.Hash {
			keys = append(keys, p.Key)
		}
	}
	for _, q := range y.Record {
		if !slices.ContainsFunc(x.Record, func(p RecordPart) bool { return p.Key == q.Key }) {
			keys = append(keys, q.Key)
		}
	}
	return keys, x.Hash != y.Hash
}

// The record hashes what a sidecar puts into a pod, part by part: an edit changes the
// parts it touches and nothing else, and edits that change nothing in a pod change no hash.
func TestRecordHashesWhatIsInjected(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{name: "description", old: "The mesh proxy.", new: "The proxy of the mesh."},
		{name: "failure policy", old: "    description:", new: "    failurePolicy: ignore\n    description:"},
		{name: "namespaces", old: "    description:", new: "    namespaces: {matchLabels: {mesh: enabled}}\n    description:"},
		{name: "host network", old: "    description:", new: "    hostNetwork: skip\n    description:"},
		{name: "native", old: "    description:", new: "    native: never\n    description:"},
		{name: "an override pattern", old: `overridable: {version: ""}`, new: `overridable: {version: "v[0-9.]+"}`},
		{name: "the image's knob", old: "version: v1.31.0", new: "version: v1.32.1", want: []string{"image/proxy"}},
		{name: "a knob the args read", old: "level: info", new: "level: debug", want: []string{"container/proxy"}},
		{name: "a knob nothing reads", old: "level: info}", new: "level: info, unused: x}"},
		{name: "the image", old: "envoy:{{", new: "docker.io/envoy:{{", want: []string{"image/proxy"}},
		{name: "resources", old: "cpu: 100m", new: "cpu: 200m", want: []string{"resources/proxy"}},
		{name: "args", old: `args: ["--level`, new: `args: ["-v", "--level`, want: []string{"container/proxy"}},
		{name: "an env value", old: "127.0.0.1:15001", new: "127.0.0.1:15002", want: []string{"env/HTTP_PROXY"}},
		{name: "a volume", old: "emptyDir: {}", new: "emptyDir: {medium: Memory}", want: []string{"volume/certs"}},
		{name: "a label", old: `mesh: "on"`, new: `mesh: "yes"`, want: []string{"label/mesh"}},
		{name: "a pull secret added", old: "[{name: regcred}]", new: "[{name: regcred}, {name: other}]", want: []string{"imagePullSecret/other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, hashChanged := changedParts(t, tc.old, tc.new)
			if !slices.Equal(keys, tc.want) {
				t.Errorf("changed parts %q, want %q", keys, tc.want)
			}
			if hashChanged != (len(tc.want) > 0) {
				t.Errorf("the sidecar's hash changed: %v, want %v", hashChanged, len(tc.want) > 0)
			}
		})
	}
}
