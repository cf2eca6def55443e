// Package tandemtest runs `tandem serve` the way a cluster does, for the end-to-end tests
// and `make demo`: the real binary, built from this tree, serving HTTPS on 127.0.0.1 with
// a certificate from a freshly generated CA, registered with a real kube-apiserver by a
// MutatingWebhookConfiguration whose caBundle is that CA. Only the address differs from
// production: a URL on loopback instead of a Service.
package tandemtest
