// Package webhook is Tandem's admission webhook server: the HTTPS endpoint the API server
// calls for every pod it creates, with health, readiness and Prometheus metrics.
//
// It is an adapter around the engine (package inject) and knows nothing of how injection
// works: it reads an AdmissionReview, has the engine read request.object (inject.Pod.Read),
// hands the pod and what it knows of the pod's namespace to inject.InjectPod, and writes
// the engine's patch, warnings or denial back.
//
// Because it sits in the path of every pod creation in a cluster, the request path is
// built for speed: the review and the pod are read in one pass with internal/jsonscan,
// never decoded (review.go), buffers are pooled (exchange.go), and the response is
// written by hand (response.go). Because anyone who reaches the port can send it
// anything, what requests in flight hold is bounded: body buffers grow as bytes arrive
// within a byte budget, requests in flight and open connections are counted, and past a
// limit a request is refused at once with 429, a connection closed (limits.go). Around it, the serving certificate and the configuration file are
// reloaded when they change (tls.go, reload.go, watch.go), namespace labels come from a
// metadata-only informer (namespaces.go), and shutdown lets requests in flight finish
// (server.go).
package webhook
