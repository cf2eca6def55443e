package inject

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/examples"
	"github.com/tandem-io/tandem/internal/config"
)

// A label or annotation value that is not a string is refused naming its key, so that the
// user finds it among the others (Helm writes prometheus.io/port: 8080 as a number).
func TestANonStringLabelOrAnnotationNamesItsKey(t *testing.T) {
	cfg, err := config.Parse(examples.Config, "examples/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	app := `"spec":{"containers":[{"name":"app"}]}`
	for pod, want := range map[string]string{
		`{"metadata":{"annotations":{"tandem.io/inject":"seed","prometheus.io/port":8080}},` + app + `}`: "metadata.annotations[prometheus.io/port] must be a string",
		`{"metadata":{"annotations":{"tandem.io/inject":"seed","team":true}},` + app + `}`:               "metadata.annotations.team must be a string",
		`{"metadata":{"labels":{"tier":{"a":1}},"annotations":{"tandem.io/inject":"seed"}},` + app + `}`: "metadata.labels.tier must be a string",
	} {
		_, err := Inject([]byte(pod), Namespace{Name: "default", LabelsKnown: true}, cfg, Options{NativeSidecars: true})
		var denial *Error
		if !errors.As(err, &denial) || denial.Status != metav1.StatusReasonBadRequest || denial.Message == "" || !strings.Contains(denial.Message, want) {
			t.Errorf("Inject(%s): %v; want a bad request saying %q", pod, err, want)
		}
	}
}
