// Package inject is Tandem's engine: a pure function from a pod, its namespace and the
// configuration to the JSON Patch that injects the requested sidecars, with warnings.
//
// It does no I/O and knows nothing of HTTP: the webhook server, the CLI and the tests
// are adapters around Inject. For speed it reads only the parts of the pod it needs
// (metadata, container names, ports, env names, mounts and volume names), never decodes
// the whole pod, and builds the patch from JSON the config prepared at load.
package inject
