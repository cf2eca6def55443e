package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseReportsProblems(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want []string // each must appear in the error, in this order of lines
	}{
		"an unknown field names the sidecar, the field and the line": {
			yaml: "sidecars:\n- name: proxy\n  containers:\n  - name: proxy\n    image: x\n    imagee: y\n",
			want: []string{`config.yaml:6: sidecar "proxy": containers[0].imagee: unknown field`},
		},
		"a duplicate sidecar name is an error": {
			yaml: "sidecars:\n- name: a\n- name: a\n",
			want: []string{`config.yaml:3: sidecar "a": name: duplicate sidecar name "a"`},
		},
		"an invalid container is reported field by field": {
			yaml: "sidecars:\n- name: p\n  containers:\n  - name: Bad_Name\n    ports:\n    - containerPort: 0\n",
			want: []string{
				`config.yaml:4: sidecar "p": containers[0].name: Invalid value: "Bad_Name"`,
				`containers[0].image: Required value`,
				`config.yaml:6: sidecar "p": containers[0].ports[0].containerPort: Invalid value: 0`,
			},
		},
		"a template that does not parse is reported with its field": {
			yaml: "sidecars:\n- name: p\n  labels:\n    team: '{{ .Values.team '\n",
			want: []string{`config.yaml:4: sidecar "p": labels.team: template does not parse`},
		},
		"a template that reads a missing value fails at load, not at admission": {
			yaml: "sidecars:\n- name: p\n  annotations:\n    team: '{{ .Values.team }}'\n",
			want: []string{`annotations.team: template fails with the configured values`, `map has no entry for key "team"`},
		},
		"a template with an unknown function is reported": {
			yaml: "sidecars:\n- name: p\n  annotations:\n    team: '{{ shout .Pod.Name }}'\n",
			want: []string{`function "shout" not defined`},
		},
		"names must not be templates": {
			yaml: "sidecars:\n- name: p\n  containers:\n  - name: '{{ .Pod.Name }}'\n    image: x\n",
			want: []string{`containers[0].name: Forbidden: must not be a template`},
		},
		"an unknown native mode lists the supported ones": {
			yaml: "sidecars:\n- name: p\n  native: sometimes\n",
			want: []string{`native: Unsupported value: "sometimes": supported values: "auto", "always", "never"`},
		},
		"an unknown failure policy lists the supported ones": {
			yaml: "sidecars:\n- name: p\n  failurePolicy: Maybe\n",
			want: []string{`failurePolicy: Unsupported value: "Maybe"`},
		},
		"an overridable knob needs a default and a valid pattern": {
			yaml: "sidecars:\n- name: p\n  overridable:\n    cpu: '('\n",
			want: []string{`overridable[cpu]: Invalid value: "cpu": an overridable knob needs a default`, `not a regular expression`},
		},
		"mounts for app containers must name the sidecar's volumes": {
			yaml: "sidecars:\n- name: p\n  volumeMounts:\n  - name: nope\n    mountPath: /x\n",
			want: []string{`volumeMounts[0].name: Invalid value: "nope": must name one of this sidecar's volumes`},
		},
		"tandem.io keys are reserved": {
			yaml: "sidecars:\n- name: p\n  labels:\n    tandem.io/inject: x\n",
			want: []string{`the tandem.io/ prefix is Tandem's own`},
		},
		"a bad namespace selector is reported": {
			yaml: "sidecars:\n- name: p\n  namespaces:\n    matchExpressions:\n    - {key: a, operator: Sometimes}\n",
			want: []string{`sidecar "p": namespaces: Invalid value`},
		},
		"true and false are not sidecar names": {
			yaml: "sidecars:\n- name: 'false'\n",
			want: []string{`"true" and "false" are reserved`},
		},
		"a wrong type is reported": {
			yaml: "sidecars:\n- name: p\n  containers: yes\n",
			want: []string{`sidecar "p"`, `wrong type`},
		},
		"an unknown top-level field is reported": {
			yaml: "sidecar:\n- name: p\n",
			want: []string{`config.yaml:1: sidecar: unknown field`},
		},
		"YAML that does not parse gives its line": {
			yaml: "sidecars:\n- name: p\n  labels: {a: b\n",
			want: []string{`config.yaml`, `not valid YAML`},
		},
		"an empty file says what it needs": {
			yaml: "# nothing\n",
			want: []string{`the file is empty`},
		},
		"a sidecar that is not a mapping": {
			yaml: "sidecars:\n- proxy\n",
			want: []string{`each sidecar must be a mapping`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "config.yaml")
			if err == nil {
				t.Fatal("the config loaded; want an error")
			}
			msg := err.Error()
			at := 0
			for _, want := range tc.want {
				i := strings.Index(msg[at:], want)
				if i < 0 {
					t.Fatalf("error does not contain %q (in order):\n%s", want, msg)
				}
				at += i
			}
		})
	}
}

func TestParseReportsEverythingAtOnce(t *testing.T) {
	yaml := "sidecars:\n- name: A\n  native: x\n- name: b\n  failurePolicy: maybe\n  bogus: 1\n"
	_, err := Parse([]byte(yaml), "c.yaml")
	list, ok := err.(ErrorList)
	if !ok {
		t.Fatalf("error is %T, want ErrorList: %v", err, err)
	}
	if len(list) != 4 {
		t.Fatalf("got %d problems, want 4:\n%v", len(list), err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Names(), ","); got != "seed,proxy,logs" {
		t.Fatalf("sidecars %s, want seed,proxy,logs", got)
	}
	proxy := cfg.Sidecar("proxy")
	if proxy.Native != NativeAuto || proxy.FailurePolicy != FailurePolicyFail || len(proxy.Parts[FieldContainers]) != 1 || len(proxy.Parts[FieldInitContainers]) != 1 {
		t.Fatalf("proxy prepared as %+v", proxy)
	}
	if logs := cfg.Sidecar("logs"); logs.FailurePolicy != FailurePolicyIgnore || logs.Native != NativeNever {
		t.Fatalf("logs prepared as %+v", logs)
	}
}

func TestHashChangesWithDefinition(t *testing.T) {
	a, err := Parse([]byte("sidecars:\n- name: p\n  labels: {a: b}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse([]byte("sidecars:\n- name: p\n  labels: {a: c}\n"), "")
	c, _ := Parse([]byte("sidecars:\n- labels: {a: b}\n  name: p\n"), "")
	if a.Sidecar("p").Hash == b.Sidecar("p").Hash {
		t.Error("different definitions have the same hash")
	}
	if a.Sidecar("p").Hash != c.Sidecar("p").Hash {
		t.Error("the same definition written in another order has another hash")
	}
}

func TestSHA256IsTheFileDigest(t *testing.T) {
	// sha256sum of this text: what an operator compares tandem_config_info with.
	const text = "sidecars:\n- name: p\n  labels: {a: b}\n"
	cfg, err := Parse([]byte(text), "")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := Parse([]byte(text+"# a comment\n"), "")
	if want := "884abc3a4910d9eff22a477687e17bf570c68baa7346a9bd3bba32d80f935335"; cfg.SHA256 != want {
		t.Errorf("SHA256 %q, want %s as sha256sum prints it", cfg.SHA256, want)
	}
	if cfg.SHA256 == other.SHA256 {
		t.Error("two different files have the same SHA256")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestParseRefusesHugeFiles(t *testing.T) {
	_, err := Parse(make([]byte, MaxFileSize+1), "big.yaml")
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("got %v", err)
	}
}

// FuzzParse feeds arbitrary bytes to the config loader: it must never panic, and what it
// accepts must have named, distinct sidecars.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "examples", "config.yaml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("sidecars:\n- name: p\n  labels: {a: '{{ .Values.x }}'}\n  values: {x: y}\n"))
	f.Add([]byte("sidecars: [{name: a, containers: [{name: a, image: b, ports: [{containerPort: 1}]}]}]"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range cfg.Sidecars {
			if s.Name == "" || seen[s.Name] {
				t.Fatalf("accepted a sidecar with an empty or repeated name %q", s.Name)
			}
			seen[s.Name] = true
		}
	})
}
