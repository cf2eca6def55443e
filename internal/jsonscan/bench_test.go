package jsonscan

import (
	"testing"

	"github.com/tandem-io/tandem/internal/benchdata"
)

// BenchmarkSkip measures skipping (and checking) a whole reference AdmissionReview, most of
// which is managedFields: the work the webhook does for every byte it does not read.
func BenchmarkSkip(b *testing.B) {
	for _, name := range benchdata.Payloads {
		data, err := benchdata.Review(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var s Scanner
			for b.Loop() {
				s.Reset(data)
				s.Skip()
				if err := s.End(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
