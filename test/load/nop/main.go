// Command nop is the baseline of Tandem's server benchmark: a Go HTTPS server with the
// webhook's TLS and HTTP settings whose handler does nothing but read the body and answer
// a fixed, small AdmissionReview. What the webhook costs above it is what Tandem costs.
//
//	go run ./test/load/nop -addr 127.0.0.1:8444
//
// Without -tls-cert-file and -tls-key-file it makes a throwaway CA and an ECDSA P-256
// certificate for 127.0.0.1. With -make-certs DIR it writes such a CA and certificate to
// DIR (ca.crt, tls.crt, tls.key) and exits, so that the webhook and this baseline can be
// benchmarked with the same certificate.
//
// With -response FILE it answers FILE's bytes instead: given Tandem's own answer to a
// payload, it is the floor under the webhook, what any server that must send that patch
// pays for TLS, HTTP and the bigger write, with no work to find it.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tandem-io/tandem/internal/certs"
)

var (
	response      = []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"00000000-0000-0000-0000-000000000000","allowed":true}}`)
	contentType   = []string{"application/json"}
	contentLength = []string{strconv.Itoa(len(response))}
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8444", "address to listen on")
	certFile := flag.String("tls-cert-file", "", "serving certificate (default: a throwaway one)")
	keyFile := flag.String("tls-key-file", "", "serving key")
	makeCerts := flag.String("make-certs", "", "write a CA and a certificate for 127.0.0.1 to this directory, and exit")
	responseFile := flag.String("response", "", "answer this file's bytes (default: a 134-byte AdmissionReview that allows)")
	flag.Parse()
	if *responseFile != "" {
		body, err := os.ReadFile(*responseFile)
		if err != nil {
			log.Fatal(err)
		}
		response, contentLength = body, []string{strconv.Itoa(len(body))}
	}
	if *makeCerts != "" {
		if err := writeCerts(*makeCerts); err != nil {
			log.Fatal(err)
		}
		return
	}
	cert, err := certificate(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	srv := &http.Server{
		Handler:           http.HandlerFunc(nop),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
	}
	fmt.Fprintf(os.Stderr, "nop: serving https://%s\n", ln.Addr())
	log.Fatal(srv.ServeTLS(ln, "", ""))
}

// nop reads the body, as any webhook must, and answers the same bytes every time.
func nop(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h := w.Header()
	h["Content-Type"] = contentType
	h["Content-Length"] = contentLength
	_, _ = w.Write(response)
}

func certificate(certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" {
		return tls.LoadX509KeyPair(certFile, keyFile)
	}
	_, pair, err := newPair()
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
}

func newPair() (*certs.CA, certs.KeyPair, error) {
	ca, err := certs.NewCA("tandem-bench", 24*time.Hour)
	if err != nil {
		return nil, certs.KeyPair{}, err
	}
	pair, err := ca.Issue([]string{"127.0.0.1", "localhost"}, 24*time.Hour)
	return ca, pair, err
}

func writeCerts(dir string) error {
	ca, pair, err := newPair()
	if err != nil {
		return err
	}
	if err := certs.WriteFile(filepath.Join(dir, "ca.crt"), ca.CertPEM, 0o644); err != nil {
		return err
	}
	return pair.WriteFiles(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
}
