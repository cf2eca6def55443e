package tandemtest

import (
	"slices"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Warnings keeps the warnings the API server returns, as kubectl prints them.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader records one warning; it makes Warnings a rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// All returns the warnings received so far.
func (w *Warnings) All() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

// WarningClient is a client of the cluster config reaches that records every warning.
func WarningClient(t testing.TB, config *rest.Config) (kubernetes.Interface, *Warnings) {
	t.Helper()
	w := &Warnings{}
	cfg := rest.CopyConfig(config)
	cfg.WarningHandler = w
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}
