// Package manifest reads and writes Kubernetes manifests for the offline CLI: single- and
// multi-document YAML or JSON and List objects, and finds each workload's pod template so
// that the engine can inject into it. An object of another kind is injected through its
// spec.template when that holds a pod spec with containers, with a warning; any other
// object passes through unchanged.
package manifest
