// Package chart tests the Helm chart deploy/charts/tandem, and deploy/install.yaml (the
// chart rendered with its defaults), with the pinned helm and kubectl against a real
// etcd and kube-apiserver (package controlplane). No node and no Tandem run: the tests
// lint the chart, compare its renders (defaults and every ci/ values file) with golden
// files, load each render's configuration with Tandem's own loader, dry-run every render
// on the API server, check the errors a wrong value gets, and watch where the API server
// sends pods through the webhook entries while nothing answers behind the Service. They
// also have the API server evaluate the chart's CEL: the policy that limits Tandem's
// ServiceAccount to the caBundle, and the split of the tandem.io/inject annotation,
// held to the engine's.
//
// Run with `make e2e`; refresh the golden renders with `go test ./test/e2e/chart -update`
// and deploy/install.yaml with `make install-yaml`.
package chart
