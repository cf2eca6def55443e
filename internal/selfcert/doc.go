// Package selfcert lets `tandem serve --certificates self` manage its own certificates:
// a CA and a serving certificate kept in one Secret, which is the source of truth for
// every replica; the CA written into the caBundle of each entry of Tandem's
// MutatingWebhookConfiguration, and written back whenever something blanks it; the
// serving certificate renewed well before it expires, and the CA before its own expiry,
// with an overlap: a new CA signs only once every caBundle entry has been seen holding it
// for the propagation time, and the caBundle carries the old CA beside the new one until
// the old one expires, so a replica still serving a certificate the old CA signed is
// trusted while it catches up. Only CAs Tandem made or rotated out enter the caBundle.
// An emergency rotation, asked for on the Secret (RequestRotation), discards the CA and
// everything it signed at once.
//
// Renew decides what the Secret must hold at a given time and is a pure function. The
// Manager does the I/O: it reads and writes the Secret with optimistic concurrency (an
// update names the version it read; a replica that loses the race reads again and finds
// the winner's certificates, so replicas starting together converge on one CA without
// a lease), keeps the caBundle, and then writes the serving pair to files, which the
// webhook server reloads as it does any certificate file.
package selfcert
