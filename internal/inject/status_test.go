package inject

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The status codec's three writers (the engine's, StatusJSON from entries, encoding/json)
// write the same bytes, and ParseStatus reads them back.
func TestStatusCodecAgreesWithEncodingJSON(t *testing.T) {
	tests := map[string]Status{
		"nothing injected":     {Sidecars: []StatusSidecar{}},
		"one injected":         {Sidecars: []StatusSidecar{{"proxy", "0a1b2c3d4e5f"}}},
		"injected and skipped": {Sidecars: []StatusSidecar{{"proxy", "h1"}, {"logs", "h2"}}, Skipped: []StatusSkipped{{"seed", ReasonHostNetwork}, {"x", ReasonNameClash}}},
		"only skipped":         {Sidecars: []StatusSidecar{}, Skipped: []StatusSkipped{{"proxy", ReasonHostNetwork}}},
		"names that need JSON": {Sidecars: []StatusSidecar{{`a"b\c`, "<h>"}}},
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
				list = append(list, injected{StatusSidecar: s})
				sidecars = append(sidecars, StatusSidecarEntry(s.Name, s.Hash))
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
		})
	}
}
