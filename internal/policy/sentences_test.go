package policy

import (
	"fmt"
	"testing"
)

// Every sentence the compiled policies say renders, in CEL, to the engine's own words:
// with each variable part as a CEL expression (what admission evaluates) and as a value
// known when compiling. Names, namespaces and reasons are printable; values with quotes
// and backslashes check the quoting.
func TestPolicySentencesAreTheEngines(t *testing.T) {
	samples := [][]string{
		{"proxy", "shop", "app=web", "cpu"},
		{`a"b`, `c\d`, "it's", "é ü"},
		{"", "x", "", "y"},
	}
	for name, s := range sentences {
		for _, sample := range samples {
			values := make([]string, s.args)
			for i := range values {
				values[i] = sample[i%len(sample)] + fmt.Sprint(i)
			}
			want := s.build(values)
			var exprs, lits []arg
			for _, v := range values {
				exprs = append(exprs, expr(quote(v)))
				lits = append(lits, lit(v))
			}
			for form, args := range map[string][]arg{"CEL arguments": exprs, "values": lits} {
				cel := s.cel(args...)
				got, err := evalString(cel)
				if err != nil {
					t.Fatalf("%s with %s: %v", name, form, err)
				}
				if got != want {
					t.Errorf("%s with %s %q:\n CEL %s\n says %q\n engine %q", name, form, values, cel, got, want)
				}
			}
		}
	}
}
