// Package manifest reads and writes Kubernetes manifests for the offline CLI: single- and
// multi-document YAML or JSON and List objects, and finds each workload's pod template so
// that the engine can inject into it. Objects of other kinds pass through unchanged.
package manifest
