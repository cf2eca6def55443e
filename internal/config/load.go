package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	kjson "sigs.k8s.io/json"
	kyaml "sigs.k8s.io/yaml"
)

// MaxFileSize bounds a configuration file; a larger one is refused before parsing.
const MaxFileSize = 4 << 20

// Load reads and prepares the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path)
}

// Parse prepares a configuration from YAML or JSON. source names it in errors. On
// failure the error is an ErrorList holding every problem found.
func Parse(data []byte, source string) (*Config, error) {
	if source == "" {
		source = "config"
	}
	l := &loader{source: source}
	if len(data) > MaxFileSize {
		l.add("", "", "", fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), MaxFileSize))
		return nil, l.errs
	}
	cfg := l.parse(data)
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	sum := sha256.Sum256(data)
	cfg.SHA256 = hex.EncodeToString(sum[:])
	return cfg, nil
}

// loader collects errors while it parses, validates and compiles one file.
type loader struct {
	source string
	root   *yaml.Node
	errs   ErrorList
}

// add records a problem; path is relative to the sidecar at index sc ("" for the file).
func (l *loader) add(sidecarPath, sidecar, field, detail string) {
	full := strings.TrimPrefix(sidecarPath+"."+field, ".")
	full = strings.TrimSuffix(full, ".")
	l.errs = append(l.errs, &Error{
		Source: l.source, Line: lineOf(l.root, full), Sidecar: sidecar, Field: field, Detail: detail,
	})
}

func (l *loader) parse(data []byte) *Config {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		l.add("", "", "", yamlError(err))
		return nil
	}
	l.root = &root
	js, err := kyaml.YAMLToJSONStrict(data)
	if err != nil {
		l.add("", "", "", yamlError(err))
		return nil
	}
	var top struct {
		Sidecars []json.RawMessage `json:"sidecars"`
	}
	if js = bytes.TrimSpace(js); len(js) == 0 || string(js) == "null" {
		l.add("", "", "", "the file is empty; it needs a list of sidecars (docs/configuration.md)")
		return nil
	}
	if !l.decodeStrict(js, &top, "", "") {
		return nil
	}
	cfg := &Config{Source: l.source, byName: map[string]*Sidecar{}}
	seen := map[string]bool{}
	for i, raw := range top.Sidecars {
		path := fmt.Sprintf("sidecars[%d]", i)
		sc, name := l.sidecar(path, raw)
		if seen[name] && name != "" {
			l.add(path, name, "name", fmt.Sprintf("duplicate sidecar name %q: each sidecar needs its own name", name))
		}
		seen[name] = true
		if sc != nil && len(l.errs) == 0 {
			sc.Index = len(cfg.Sidecars)
			cfg.byName[sc.Name] = sc
			cfg.Sidecars = append(cfg.Sidecars, sc)
		}
	}
	sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
	return cfg
}

// decodeStrict decodes js into v, reporting unknown and duplicate fields and type errors.
func (l *loader) decodeStrict(js []byte, v any, path, sidecar string) bool {
	strict, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		l.add(path, sidecar, "", jsonError(err))
		return false
	}
	// Unknown and duplicate fields are reported, but decoding went on: validation still
	// runs, so that one pass shows every problem.
	for _, e := range strict {
		field, detail := strictField(e.Error())
		l.add(path, sidecar, field, detail)
	}
	return true
}

var strictPattern = regexp.MustCompile(`^(?:json: )?(unknown|duplicate) field "(.*)"$`)

// strictField turns `unknown field "containers[0].imagee"` into the field and a sentence.
func strictField(msg string) (field, detail string) {
	m := strictPattern.FindStringSubmatch(msg)
	if m == nil {
		return "", msg
	}
	if m[1] == "unknown" {
		return m[2], "unknown field (check its spelling and docs/configuration.md)"
	}
	return m[2], "field is given twice"
}

func yamlError(err error) string {
	return "not valid YAML: " + strings.TrimPrefix(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "), "yaml: ")
}

func jsonError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return "wrong type: " + msg
}
