// Package capabilities decides what a Kubernetes API server can do that Tandem's
// behaviour depends on: native sidecars, matchConditions on webhooks, in-place resize
// through pods/resize, and MutatingAdmissionPolicy. It is the one place that decides:
// from the server itself (its version and discovery) when there is one, from a version
// alone (what that version serves by default) when there is not.
package capabilities
