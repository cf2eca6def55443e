package webhook

import (
	"io"
	"net/http"
	"strings"
)

// healthHandler serves /healthz (the process answers) and /readyz (it can admit pods).
func (s *Server) healthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if reasons := s.notReady(); len(reasons) > 0 {
			http.Error(w, "not ready: "+strings.Join(reasons, "; "), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// notReady says why the server should not be sent admissions, if it should not.
func (s *Server) notReady() []string {
	var reasons []string
	if s.stopping.Load() {
		reasons = append(reasons, "shutting down")
	}
	if s.config.Load() == nil {
		reasons = append(reasons, "no valid configuration loaded")
	}
	if s.nsCache != nil && !s.nsCache.synced() {
		reasons = append(reasons, "namespace cache not filled yet")
	}
	return reasons
}

func (s *Server) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}
