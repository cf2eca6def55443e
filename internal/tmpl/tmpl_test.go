package tmpl

import (
	"testing"
)

func TestRenderFillsHolesAndQuotes(t *testing.T) {
	d := &Data{
		Pod:       Pod{Name: "web-1", Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": `say "hi"`}},
		Namespace: Namespace{Name: "shop", Labels: map[string]string{"tier": "gold"}},
		Values:    map[string]string{"cpu": "100m"},
		Sidecar:   "proxy",
	}
	tests := map[string]struct{ in, want string }{
		"a static value is copied":             {`{"a":"b","n":1}`, `{"a":"b","n":1}`},
		"a value hole":                         {`{"cpu":"{{ .Values.cpu }}"}`, `{"cpu":"100m"}`},
		"text around fields":                   {`"{{ .Sidecar }}.{{ .Namespace.Name }}.svc"`, `"proxy.shop.svc"`},
		"a pod annotation is quoted in JSON":   {`["{{ .Pod.Annotation \"note\" \"none\" }}"]`, `["say \"hi\""]`},
		"a missing annotation takes a default": {`"{{ .Pod.Annotation \"absent\" .Pod.Name }}"`, `"web-1"`},
		"a namespace label":                    {`"{{ .Namespace.Label \"tier\" \"\" }}"`, `"gold"`},
		"functions take the slow path":         {`"{{ .Pod.Label \"app\" \"x\" | upper }}"`, `"WEB"`},
		"default fills an empty value":         {`"{{ .Pod.GenerateName | default \"anon\" }}"`, `"anon"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			j, err := Compile("test", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := j.Render(d)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("rendered %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFastAndSlowPathsAgree(t *testing.T) {
	d := &Data{Pod: Pod{Name: "p", Labels: map[string]string{"a": "1"}}, Values: map[string]string{"v": "x"}}
	for _, text := range []string{`a{{ .Values.v }}b`, `{{ .Pod.Name }}`, `{{ .Pod.Label "a" "d" }}`, `{{ .Pod.Label "b" .Values.v }}`} {
		tmpl, err := Parse("t", text)
		if err != nil {
			t.Fatal(err)
		}
		fast := fastForm(tmpl)
		if fast == nil {
			t.Fatalf("%s has no fast form", text)
		}
		j, err := Compile("t", []byte(`"`+jsonEscape(text)+`"`))
		if err != nil {
			t.Fatal(err)
		}
		fastOut, err := j.Render(d)
		if err != nil {
			t.Fatalf("%s, fast: %v", text, err)
		}
		j.parts[0].fast = nil
		slowOut, err := j.Render(d)
		if err != nil {
			t.Fatalf("%s, slow: %v", text, err)
		}
		if len(fastOut) == 0 || string(fastOut) != string(slowOut) {
			t.Errorf("%s: fast %s, slow %s", text, fastOut, slowOut)
		}
	}
}

func TestMissingValueIsAnError(t *testing.T) {
	j, err := Compile("f", []byte(`"{{ .Values.nope }}"`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Render(&Data{Values: map[string]string{}}); err == nil {
		t.Fatal("a missing value rendered without error")
	}
}

func jsonEscape(s string) string {
	out := ""
	for _, r := range s {
		if r == '"' {
			out += `\"`
		} else {
			out += string(r)
		}
	}
	return out
}
