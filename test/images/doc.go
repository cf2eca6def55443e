// Package images builds the images the end-to-end tests and the demo run on a real
// (local) node, where no registry is reachable: a stand-in for the pod sandbox's pause
// image, and the demo's proxy, app, log shipper and secrets agent, all from the static
// binaries of ./pause and ./demo, in one docker-archive tarball for `ctr images import`
// or `docker load`. The demo package documents what each role does and prints.
package images
