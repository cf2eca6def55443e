package inject

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-io/tandem/internal/config"
)

// sidecarOf is a sidecar whose record is what s records.
func sidecarOf(s StatusSidecar) *config.Sidecar {
	sc := &config.Sidecar{Name: s.Name, Hash: s.Hash}
	for _, k := range slices.Sorted(maps.Keys(s.Parts)) {
		sc.Record = append(sc.Record, config.RecordPart{Key: k, Hash: s.Parts[k]})
	}
	return sc
}

// The status codec's three writers (the engine's, StatusJSON from entries, encoding/json)
// write the same bytes, and ParseStatus reads them back.
func TestStatusCodecAgreesWithEncodingJSON(t *testing.T) {
	tests := map[string]Status{
		"nothing injected":     {Sidecars: []StatusSidecar{}},
		"one injected":         {Sidecars: []StatusSidecar{{"proxy", "0a1b2c3d4e5f", map[string]string{"container/proxy": "01234567", "image/proxy": "89abcdef"}}}},
		"injected and skipped": {Sidecars: []StatusSidecar{{"proxy", "h1", map[string]string{"env/B": "b", "env/A": "a"}}, {"logs", "h2", map[string]string{}}}, Skipped: []StatusSkipped{{"seed", ReasonHostNetwork}, {"x", ReasonNameClash}}},
		"only skipped":         {Sidecars: []StatusSidecar{}, Skipped: []StatusSkipped{{"proxy", ReasonHostNetwork}}},
		"names that need JSON": {Sidecars: []StatusSidecar{{`a"b\c`, "<h>", map[string]string{`label/example.com/"x"`: "<&>"}}}},
	}
	for name, st := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // the annotation is not HTML
			if err := enc.Encode(st); err != nil {
				t.Fatal(err)
			}
			want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			var list []injected
			var sidecars, skipped []string
			for _, s := range st.Sidecars {
				sc := sidecarOf(s)
				list = append(list, injected{StatusSidecar: s, sidecar: sc})
				sidecars = append(sidecars, StatusSidecarEntry(sc))
			}
			for _, s := range st.Skipped {
				skipped = append(skipped, StatusSkippedEntry(s.Name, string(s.Reason)))
			}
			if got := string(appendStatusJSON(nil, list, st.Skipped)); got != string(want) {
				t.Errorf("the engine writes %s, encoding/json %s", got, want)
			}
			if got := StatusJSON(strings.Join(sidecars, StatusEntrySeparator), strings.Join(skipped, StatusEntrySeparator)); got != string(want) {
				t.Errorf("StatusJSON writes %s, encoding/json %s", got, want)
			}
			back, err := ParseStatus(string(want))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st, back); diff != "" {
				t.Errorf("ParseStatus changed the status (-written +read):\n%s", diff)
			}
			if got := st.Format(); got != string(want) {
				t.Errorf("Format writes %s, encoding/json %s", got, want)
			}
		})
	}
}
