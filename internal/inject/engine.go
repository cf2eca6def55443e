package inject

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/jsonscan"
)

// Namespace is what the engine knows of the pod's namespace.
type Namespace struct {
	Name   string
	Labels map[string]string
	// LabelsKnown is false when the caller could not read the namespace (no cluster);
	// then namespace defaults do not apply and namespace-restricted sidecars are denied.
	LabelsKnown bool
}

// Options are facts about the cluster the pod is for.
type Options struct {
	// NativeSidecars says the cluster supports native sidecars (Kubernetes >= 1.29);
	// sidecars with native: auto become init containers with restartPolicy Always.
	NativeSidecars bool
}

// Result is what the engine decided for one pod.
type Result struct {
	// Patch is an RFC 6902 JSON Patch against the raw pod; nil when nothing changes.
	Patch []byte
	// Injected names the sidecars added, in order.
	Injected []string
	// Skipped names the best-effort sidecars left out (a warning says why).
	Skipped []string
	// Warnings are for the user (AdmissionResponse.warnings): sidecars left out, a pod
	// injected from an older definition. Each starts with its Reason.
	Warnings []string
	// Reason is the outcome for the pod: Injected, or why nothing was, or the denial's.
	Reason Reason
	// Message says the outcome in a sentence, for logs and the CLI.
	Message string
	// Source names what asked for the sidecars: the pod annotation or the namespace label.
	Source string
	// Sidecars has a decision for each sidecar requested (or, for a pod injected
	// before, each one its status annotation records), whether or not the pod is denied.
	Sidecars []SidecarDecision
}

// skip records a best-effort sidecar left out, with its warning.
func (r *Result) skip(d SidecarDecision) {
	r.Skipped = append(r.Skipped, d.Name)
	r.Sidecars = append(r.Sidecars, d)
	r.Warnings = append(r.Warnings, Warning(d.Reason, d.Message))
}

// Error is a denial: the pod must not be admitted as it is. Message is what kubectl
// prints; Reason is why, from the fixed list; Status classifies it as a Kubernetes status
// reason; Sidecar names the sidecar it is about, if one.
type Error struct {
	Reason  Reason
	Status  metav1.StatusReason
	Sidecar string
	Message string
}

func (e *Error) Error() string { return e.Message }

// decision is the denial as the decision on its sidecar.
func (e *Error) decision() SidecarDecision {
	return SidecarDecision{Name: e.Sidecar, Decision: DecisionDenied, Reason: e.Reason, Message: e.Message}
}

func deny(reason Reason, sidecar string, status metav1.StatusReason, message string) *Error {
	return &Error{Reason: reason, Status: status, Sidecar: sidecar, Message: message}
}

// Inject decides which sidecars the pod gets and returns the patch that adds them. raw is
// a Pod, or the pod template of a workload, in JSON. Inject reads nothing but its
// arguments, and the same arguments always give the same result.
func Inject(raw []byte, ns Namespace, cfg *config.Config, opts Options) (Result, error) {
	res, p, err := inject(raw, ns, cfg, opts)
	if p != nil {
		p.release()
	}
	return res, err
}

// Pod is a pod as the engine reads it: its metadata and the names in its spec. It refers
// to the bytes it was read from, which must not change while it is in use. The zero
// value is ready to Read into.
type Pod struct{ view podView }

// Read reads the pod at the scanner's position into p, leaving the scanner after it, and
// reuses the memory of the pod p held before. A server that scans an AdmissionReview
// reads request.object this way, in the same pass, into a Pod it keeps per connection or
// pool slot.
func (p *Pod) Read(s *jsonscan.Scanner) error {
	if err := p.view.read(s); err != nil {
		return badPod(err)
	}
	return nil
}

// Name is the pod's name, or its generateName when it has none yet: for logs.
func (p *Pod) Name() string {
	if m := p.view.Metadata; m != nil {
		if m.Name != "" {
			return m.Name
		}
		return m.GenerateName
	}
	return ""
}

// InjectPod is Inject for a pod read with Pod.Read.
func InjectPod(pod *Pod, ns Namespace, cfg *config.Config, opts Options) (Result, error) {
	res, p, err := injectView(&pod.view, ns, cfg, opts)
	if p != nil {
		p.release()
	}
	return res, err
}

func badPod(err error) *Error {
	return deny(ReasonInvalidPod, "", metav1.StatusReasonBadRequest, "the pod is not valid JSON of a pod: "+err.Error())
}

// inject is Inject that also returns the plan the patch was written from (nil when there
// is no patch), so that tests can check the patch against an independent application.
func inject(raw []byte, ns Namespace, cfg *config.Config, opts Options) (Result, *plan, error) {
	pod, err := decodePod(raw)
	if err != nil {
		return Result{}, nil, badPod(err)
	}
	return injectView(pod, ns, cfg, opts)
}

func injectView(pod *podView, ns Namespace, cfg *config.Config, opts Options) (Result, *plan, error) {
	if ns.Name == "" && pod.Metadata != nil {
		ns.Name = pod.Metadata.Namespace
	}
	sel, optedOut := selectSidecars(pod, ns)
	if optedOut {
		return Result{Reason: ReasonOptedOut, Message: "opted out by the label " + InjectKey + "=" + OptOut}, nil, nil
	}
	if status, ok := pod.annotations()[StatusKey]; ok {
		return alreadyInjected(status, cfg), nil, nil
	}
	if len(sel.names) == 0 {
		return Result{Reason: ReasonNothingRequested, Message: "no sidecars requested"}, nil, nil
	}
	res := Result{Source: sel.source}
	if pod.Spec == nil {
		d := deny(ReasonInvalidPod, "", metav1.StatusReasonBadRequest, "the pod has no spec")
		res.Reason, res.Message = d.Reason, d.Message
		return res, nil, d
	}
	// Every requested sidecar gets a decision, even after a denial, so that the caller
	// can say what would become of each; the first denial is the one returned.
	var denial *Error
	denied := func(d *Error) {
		if d.Sidecar != "" {
			res.Sidecars = append(res.Sidecars, d.decision())
		}
		if denial == nil {
			denial = d
		}
	}
	sidecars := resolve(sel, ns, cfg, denied)
	overrides, badKnob := knobValues(pod, sidecars, cfg)
	if badKnob != nil {
		if !slices.ContainsFunc(sidecars, func(sc *config.Sidecar) bool { return sc.Name == badKnob.Sidecar }) {
			denied(&Error{Reason: badKnob.Reason, Status: badKnob.Status, Message: badKnob.Message})
		}
	}
	p := newPlan(pod, ns, opts)
	for _, sc := range sidecars {
		if badKnob != nil && sc.Name == badKnob.Sidecar {
			denied(badKnob)
			continue
		}
		if pod.Spec.HostNetwork && sc.OnHostNetwork() != config.HostNetworkInject {
			if sc.OnHostNetwork() == config.HostNetworkDeny {
				denied(deny(ReasonHostNetwork, sc.Name, metav1.StatusReasonForbidden, HostNetworkDenial(sc.Name)))
			} else {
				msg := HostNetworkSkipMessage(sc)
				p.skipped = append(p.skipped, skippedSidecar{Name: sc.Name, Reason: ReasonHostNetwork})
				res.skip(SidecarDecision{Name: sc.Name, Decision: DecisionSkipped, Reason: ReasonHostNetwork, Message: msg})
			}
			continue
		}
		values := sc.Values
		if v, ok := overrides[sc.Name]; ok {
			values = v
		}
		skipped, err := p.add(sc, values)
		switch {
		case err != nil:
			denied(err)
		case skipped != nil:
			res.skip(*skipped)
		default:
			res.Injected = append(res.Injected, sc.Name)
			res.Sidecars = append(res.Sidecars, SidecarDecision{Name: sc.Name, Decision: DecisionInjected, Reason: ReasonInjected,
				Message: "injected as requested by " + sel.source})
		}
	}
	if denial != nil {
		p.release()
		res.Reason, res.Message = denial.Reason, denial.Message
		res.Injected = nil
		return res, nil, denial
	}
	// Even with every sidecar left out, the status annotation is written: it says the pod
	// went through Tandem, and why it has no sidecar.
	res.Patch = p.writePatch()
	if len(res.Injected) == 0 {
		res.Reason, res.Message = res.Sidecars[0].Reason, "no sidecar could be injected"
		return res, p, nil
	}
	res.Reason = ReasonInjected
	res.Message = "injected " + strings.Join(res.Injected, ", ") + " as requested by " + sel.source
	return res, p, nil
}

// resolve maps the requested names to sidecars, in config order. A name the config does
// not define, or a sidecar the namespace may not have, is reported to denied and left out.
func resolve(sel selection, ns Namespace, cfg *config.Config, denied func(*Error)) []*config.Sidecar {
	sidecars := make([]*config.Sidecar, 0, len(sel.names))
	for _, name := range sel.names {
		sc := cfg.Sidecar(name)
		if sc == nil {
			denied(deny(ReasonUnknownSidecar, name, metav1.StatusReasonInvalid, UnknownSidecarDenial(sel.source, name, NameList(cfg.Names()))))
			continue
		}
		if err := allowed(sc, ns); err != nil {
			denied(err)
			continue
		}
		sidecars = append(sidecars, sc)
	}
	// Config order, not the order the pod wrote: the platform team decides which native
	// sidecar starts first (a proxy before an agent that needs the network), and
	// "logs,proxy" and "proxy,logs" give the same pod.
	slices.SortFunc(sidecars, func(a, b *config.Sidecar) int { return a.Index - b.Index })
	return sidecars
}

// allowed enforces a sidecar's namespaces selector. It is a security boundary, so it
// denies whatever the sidecar's failurePolicy: a tenant must not obtain a sidecar that
// the platform team reserved for other namespaces.
func allowed(sc *config.Sidecar, ns Namespace) *Error {
	if sc.Namespaces == nil {
		return nil
	}
	if !ns.LabelsKnown {
		return deny(ReasonNamespaceNotAllowed, sc.Name, metav1.StatusReasonForbidden, NamespaceUnknownDenial(sc.Name, sc.Namespaces.String(), ns.Name))
	}
	if !sc.Namespaces.Matches(labels.Set(ns.Labels)) {
		return deny(ReasonNamespaceNotAllowed, sc.Name, metav1.StatusReasonForbidden, NamespaceNotAllowedDenial(sc.Name, ns.Name, sc.Namespaces.String()))
	}
	return nil
}
