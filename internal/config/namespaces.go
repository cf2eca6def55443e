package config

import "slices"

// SystemNamespaces are the namespaces whose pods Tandem never sees: the webhook
// configuration always excludes them, whatever else it is told to exclude, so that
// Tandem being down can never stop the cluster's own components from starting (the
// install's own namespace is excluded too, by name). The offline commands (tandem
// inject, tandem explain) leave these namespaces' pods alone for the same reason, and the
// chart's webhook configuration is held to this list by its tests.
var SystemNamespaces = []string{"kube-system", "kube-node-lease", "kube-public"}

// IsSystemNamespace tells whether name is one of SystemNamespaces.
func IsSystemNamespace(name string) bool {
	return slices.Contains(SystemNamespaces, name)
}
