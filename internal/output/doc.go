// Package output writes what the CLI's commands report (explain's pods, audit's report)
// as JSON or YAML, the same way for every command: indented JSON without HTML escaping,
// and YAML with the keys in the order of the JSON, so that both read alike.
package output
