package tandemtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tandem-io/tandem/internal/certs"
)

// Options say how to run tandem serve.
type Options struct {
	Binary     string // from Build
	Dir        string // certificates and the log go here
	ConfigFile string // "" for the embedded default
	Kubeconfig string // the cluster to read namespaces from
	// Log receives the server's output; nil writes it to Dir/tandem.log.
	Log io.Writer
	// SelfManaged starts it with --certificates self and these arguments (the Secret,
	// hosts, validities) instead of a certificate made here; CABundle is then empty, and
	// the caBundle is Tandem's to write.
	SelfManaged []string
}

// Server is a running tandem serve.
type Server struct {
	URL      string // https://127.0.0.1:PORT/mutate, for the webhook's clientConfig
	CABundle []byte // the CA that signed the serving certificate
	Metrics  string // http://127.0.0.1:PORT/metrics
	LogPath  string
	cmd      *exec.Cmd
	done     chan error
}

// StartServer generates a CA and a serving certificate for 127.0.0.1 (unless the server
// manages its own), starts tandem serve with them and waits until it is ready.
func StartServer(ctx context.Context, opts Options) (*Server, error) {
	args := []string{"serve"}
	var caBundle []byte
	if opts.SelfManaged != nil {
		args = append(append(args, "--certificates", "self", "--certificate-dir", opts.Dir), opts.SelfManaged...)
	} else {
		certArgs, ca, err := certificate(opts.Dir)
		if err != nil {
			return nil, err
		}
		args, caBundle = append(args, certArgs...), ca
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	args = append(args,
		"--listen-address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--health-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--metrics-address", fmt.Sprintf("127.0.0.1:%d", ports[2]),
	)
	if opts.ConfigFile != "" {
		args = append(args, "--config", opts.ConfigFile)
	}
	if opts.Kubeconfig != "" {
		args = append(args, "--kubeconfig", opts.Kubeconfig)
	}
	s := &Server{
		URL:      fmt.Sprintf("https://127.0.0.1:%d/mutate", ports[0]),
		CABundle: caBundle,
		Metrics:  fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[2]),
		LogPath:  filepath.Join(opts.Dir, "tandem.log"),
		done:     make(chan error, 1),
	}
	log := opts.Log
	if log == nil {
		f, err := os.Create(s.LogPath)
		if err != nil {
			return nil, err
		}
		log = f
	}
	s.cmd = exec.Command(opts.Binary, args...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.done <- s.cmd.Wait() }()
	if err := s.waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1])); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("tandem serve did not become ready: %w (log: %s)", err, s.LogPath)
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, readyz string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("it exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(readyz)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return s.checkTLS()
		}
	}
}

// certificate makes a CA and a serving certificate for 127.0.0.1 in dir, and returns the
// arguments that serve it and the CA.
func certificate(dir string) ([]string, []byte, error) {
	ca, err := certs.NewCA("tandem-e2e-ca", 24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	pair, err := ca.Issue([]string{"127.0.0.1", "localhost"}, 24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := pair.WriteFiles(certFile, keyFile); err != nil {
		return nil, nil, err
	}
	return []string{"--tls-cert-file", certFile, "--tls-key-file", keyFile}, ca.CertPEM, nil
}

// checkTLS makes sure the server presents a certificate the CA bundle verifies, as the
// API server will require. A server that manages its certificates is checked by the
// tests, against the caBundle it writes.
func (s *Server) checkTLS() error {
	if s.CABundle == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CABundle)
	conn, err := tls.Dial("tcp", s.URL[len("https://"):len(s.URL)-len("/mutate")], &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return err
	}
	return conn.Close()
}

// Stop ends the server with SIGTERM, as the kubelet does, and waits for it.
func (s *Server) Stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil // a non-zero exit after a signal is still a stop
		}
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("tandem serve did not stop within 30s of SIGTERM; killed")
	}
}

// freePorts asks the kernel for n free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
