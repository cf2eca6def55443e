package webhook

import (
	"bytes"
	"os"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/tandem-io/tandem/internal/jsonscan"
)

func BenchmarkProbeReadValue(b *testing.B) {
	for _, name := range []string{"typical", "large", "huge-env"} {
		raw, _ := os.ReadFile("../../testdata/bench/" + name + ".admissionreview.json")
		for _, dup := range []bool{false, true} {
			b.Run(name+map[bool]string{false: "/strict", true: "/dupok"}[dup], func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				var bb bytes.Buffer
				var d jsontext.Decoder
				for b.Loop() {
					bb.Reset()
					bb.Write(raw)
					d.Reset(&bb, jsontext.AllowDuplicateNames(dup))
					if _, err := d.ReadValue(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkProbeJsonscan(b *testing.B) {
	for _, name := range []string{"typical", "large", "huge-env"} {
		raw, _ := os.ReadFile("../../testdata/bench/" + name + ".admissionreview.json")
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			var s jsonscan.Scanner
			for b.Loop() {
				s.Reset(raw)
				s.Skip()
				if s.Err() != nil {
					b.Fatal(s.Err())
				}
			}
		})
	}
}
