package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// server serves one handler on a listener that is already open, in the background.
type server struct {
	srv  *http.Server
	done chan error // receives Serve's error, unless the server was stopped
}

func start(l net.Listener, h http.Handler) *server {
	s := &server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
	go func() {
		if err := s.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			s.done <- err
		}
	}()
	return s
}

// stop lets requests in flight finish, for a few seconds: a pod's grace period is longer.
func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}
