// Package admissionpolicy tests tandem compile on a real control plane: the compiled
// MutatingAdmissionPolicy and ValidatingAdmissionPolicy give the same pods, and the same
// denials, as the webhook serving the same configuration.
package admissionpolicy
