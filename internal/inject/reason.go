package inject

// Reason names why a pod or one of its sidecars came out as it did. The list is fixed:
// the admission log line, the reason label of tandem_admission_requests_total, the
// warnings kubectl prints, `tandem explain` and `tandem audit` all use these values
// verbatim, and docs/annotations.md documents each. A new outcome gets a new Reason
// here and a line there.
type Reason string

const (
	// ReasonInjected: the sidecar was added; for a pod, at least one was.
	ReasonInjected Reason = "Injected"
	// ReasonOptedOut: the pod is labelled tandem.io/inject=false.
	ReasonOptedOut Reason = "OptedOut"
	// ReasonNothingRequested: neither the pod nor its namespace names a sidecar.
	ReasonNothingRequested Reason = "NothingRequested"
	// ReasonAlreadyInjected: the pod carries the status annotation, with the current
	// definition of each sidecar in it; it is left as it is.
	ReasonAlreadyInjected Reason = "AlreadyInjected"
	// ReasonOutdated: the pod carries the status annotation, but a sidecar in it was
	// injected from a definition that has changed (or left the configuration) since.
	ReasonOutdated Reason = "Outdated"
	// ReasonForeignStatus: the status annotation is not Tandem's; the pod is left alone.
	ReasonForeignStatus Reason = "ForeignStatus"
	// ReasonNamespaceNotAllowed: the sidecar's namespaces selector excludes the pod's
	// namespace, or the namespace's labels are unknown. Always a denial: it is a
	// security boundary.
	ReasonNamespaceNotAllowed Reason = "NamespaceNotAllowed"
	// ReasonHostNetwork: the pod uses the node's network and the sidecar's hostNetwork
	// setting is skip (left out) or deny (the pod is refused).
	ReasonHostNetwork Reason = "HostNetwork"
	// ReasonNameClash: a container or volume name of the sidecar is taken by the pod or
	// an earlier sidecar. Denied for a mandatory sidecar, skipped for a best-effort one.
	ReasonNameClash Reason = "NameClash"
	// ReasonPortClash: a port of the sidecar is taken; denied or skipped as for names.
	ReasonPortClash Reason = "PortClash"
	// ReasonTemplateFailed: a template of the sidecar failed for this pod (a missing
	// label, a value that does not fit the field); denied or skipped as for names.
	ReasonTemplateFailed Reason = "TemplateFailed"
	// ReasonUnknownSidecar: the pod or its namespace names a sidecar the configuration
	// does not define.
	ReasonUnknownSidecar Reason = "UnknownSidecar"
	// ReasonBadOverride: a tandem.io/<sidecar>.<knob> annotation names an unknown
	// sidecar or knob, or a value its pattern refuses.
	ReasonBadOverride Reason = "BadOverride"
	// ReasonInvalidPod: the object is not a pod Tandem can read (or has no spec).
	ReasonInvalidPod Reason = "InvalidPod"

	// The server's own, for what never reaches the engine.

	// ReasonNotAPodCreate: the request is not the creation of a pod; allowed as it is.
	ReasonNotAPodCreate Reason = "NotAPodCreate"
	// ReasonInvalidRequest: the request is not a well-formed AdmissionReview, or Tandem
	// failed to answer it (no configuration, an internal error).
	ReasonInvalidRequest Reason = "InvalidRequest"
	// ReasonNamespaceUnknown: the labels of the pod's namespace could not be read from
	// the API server, so the pod cannot be judged; the call fails and the webhook
	// entry's failurePolicy decides.
	ReasonNamespaceUnknown Reason = "NamespaceUnknown"

	// The offline tools' own.

	// ReasonExcludedNamespace: the pod is in a namespace the webhook configuration never
	// sends to Tandem (config.SystemNamespaces); `tandem explain` says so rather than ask
	// the engine.
	ReasonExcludedNamespace Reason = "ExcludedNamespace"
)

// Reasons lists every Reason, for documentation and tests.
var Reasons = []Reason{
	ReasonInjected, ReasonOptedOut, ReasonNothingRequested, ReasonAlreadyInjected, ReasonOutdated,
	ReasonForeignStatus, ReasonNamespaceNotAllowed, ReasonHostNetwork, ReasonNameClash, ReasonPortClash,
	ReasonTemplateFailed, ReasonUnknownSidecar, ReasonBadOverride, ReasonInvalidPod,
	ReasonNotAPodCreate, ReasonInvalidRequest, ReasonNamespaceUnknown, ReasonExcludedNamespace,
}

// Decision is what became of one requested sidecar.
type Decision string

const (
	DecisionInjected Decision = "injected" // added to the pod
	DecisionSkipped  Decision = "skipped"  // left out; the pod is admitted without it
	DecisionDenied   Decision = "denied"   // the pod is refused because of it
)

// SidecarDecision is the engine's decision on one sidecar of one pod.
type SidecarDecision struct {
	Name     string
	Decision Decision
	Reason   Reason
	// Message says it for people, in a sentence; the warning or the denial's text.
	Message string
}
