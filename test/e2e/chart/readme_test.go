package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// wholeValues are documented as one row: their content is a Kubernetes field the chart
// copies as it is, so their own keys are Kubernetes', not the chart's.
var wholeValues = []string{"resources"}

// Every value of values.yaml has a row in the chart's README, whose tables start each
// row with the value's dotted path in backticks.
func TestReadmeDocumentsEveryValue(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := documentedPaths(string(readme))
	var missing []string
	for _, path := range leafPaths("", values) {
		if !isDocumented(path, documented) {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d values of values.yaml have no row in %s/README.md:\n  %s", len(missing), chartDir, strings.Join(missing, "\n  "))
	}
}

// leafPaths lists the dotted paths of the values that are not mappings with keys: the
// values a user sets. An empty mapping ({}) or a list is set as a whole.
func leafPaths(prefix string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return []string{prefix}
	}
	var paths []string
	for k, child := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		paths = append(paths, leafPaths(p, child)...)
	}
	sort.Strings(paths)
	return paths
}

// The first cell of a Markdown table row, and the backticked paths in it.
var (
	tableRow = regexp.MustCompile(`^\s*\|([^|]*)\|`)
	backtick = regexp.MustCompile("`([^`]+)`")
)

// documentedPaths are the paths the README's table rows start with.
func documentedPaths(readme string) map[string]bool {
	paths := map[string]bool{}
	for line := range strings.Lines(readme) {
		cell := tableRow.FindStringSubmatch(line)
		if cell == nil {
			continue
		}
		for _, m := range backtick.FindAllStringSubmatch(cell[1], -1) {
			paths[strings.TrimSpace(m[1])] = true
		}
	}
	return paths
}

// isDocumented reports whether path has its own row or, inside a whole value, a row for
// that value or a part of it.
func isDocumented(path string, documented map[string]bool) bool {
	if documented[path] {
		return true
	}
	for _, whole := range wholeValues {
		if !strings.HasPrefix(path, whole+".") {
			continue
		}
		parts := strings.Split(path, ".")
		for i := len(parts) - 1; i > 0; i-- {
			if p := strings.Join(parts[:i], "."); documented[p] && (p == whole || strings.HasPrefix(p, whole+".")) {
				return true
			}
		}
	}
	return false
}
