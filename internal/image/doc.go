// Package image builds container images from static binaries without a container engine:
// one layer holding the binary on an empty base, written as a docker-archive tarball that
// both `docker load` and `ctr images import` read.
//
// Everything that would otherwise vary between builds — file times, owners, the image's
// creation time, the history entry, the order of entries in the tarball — is fixed or
// derived from the Spec, so the same binary and Spec give a byte-identical tarball and the
// same digest on any machine.
package image
