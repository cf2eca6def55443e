// Package tmpl renders the Go templates that a sidecar's string fields may hold.
//
// A sidecar's containers, volumes and other parts are turned into JSON once, when the
// configuration loads; the strings that hold templates become holes in that JSON. Per
// pod, only the holes are executed and quoted, so admission never re-parses a template
// nor re-marshals a container.
package tmpl
