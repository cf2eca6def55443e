// Package config loads Tandem's configuration: the sidecars a platform team describes once.
//
// Loading is strict and reports every problem at once, each with the file, the line, the
// sidecar and the field. What does not depend on a pod is prepared here, once: templates
// are parsed, each container, volume and env var is turned into JSON, and the names the
// engine checks for clashes are extracted. The engine (package inject) only renders holes.
package config
