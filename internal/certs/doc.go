// Package certs makes the certificates a webhook needs: a certificate authority, whose
// certificate is the webhook configuration's caBundle, and serving certificates it signs
// for the webhook's Service DNS names or IP addresses. Keys are ECDSA P-256: small, fast to
// generate and to handshake with, and accepted by every Kubernetes version.
//
// Files are written atomically (a temporary file renamed into place), so a server that
// reloads them never reads half a file.
package certs
