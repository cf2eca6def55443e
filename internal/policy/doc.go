// Package policy compiles a Tandem configuration to in-tree admission policy: a
// MutatingAdmissionPolicy that injects the sidecars with CEL inside the API server, and a
// ValidatingAdmissionPolicy that refuses the pods the webhook would refuse, with the same
// message. Like the engine, it is a pure function of the configuration: no I/O.
//
// The CEL mirrors internal/inject step by step (selection, namespace restrictions, knob
// overrides, host network, clashes, what the pod already has, the status annotation), so
// that a pod comes out the same whichever path admits it. What CEL cannot express exactly
// is not compiled, and says why.
package policy
