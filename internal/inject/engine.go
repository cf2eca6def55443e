package inject

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	// Warnings are for the user (AdmissionResponse.warnings): best-effort sidecars that
	// were skipped, a pod injected with an older config.
	Warnings []string
	// Reason says in a few words why the pod was or wasn't changed, for logs and the CLI.
	Reason string
}

// Error is a denial: the pod must not be admitted as it is. Message is what kubectl
// prints; Reason classifies it as a Kubernetes status reason.
type Error struct {
	Reason  metav1.StatusReason
	Message string
}

func (e *Error) Error() string { return e.Message }

func deny(reason metav1.StatusReason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
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
	return deny(metav1.StatusReasonBadRequest, "the pod is not valid JSON of a pod: %v", err)
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
		return Result{Reason: "opted out by the label " + InjectKey + "=false"}, nil, nil
	}
	if status, ok := pod.annotations()[StatusKey]; ok {
		return Result{Reason: "already injected", Warnings: staleWarnings(status, cfg)}, nil, nil
	}
	if len(sel.names) == 0 {
		return Result{Reason: "no sidecars requested"}, nil, nil
	}
	if pod.Spec == nil {
		return Result{}, nil, deny(metav1.StatusReasonBadRequest, "the pod has no spec")
	}
	sidecars, err := resolve(sel, ns, cfg)
	if err != nil {
		return Result{}, nil, err
	}
	overrides, err := knobValues(pod, sidecars, cfg)
	if err != nil {
		return Result{}, nil, err
	}
	p := newPlan(pod, ns, opts)
	var res Result
	for _, sc := range sidecars {
		values := sc.Values
		if v, ok := overrides[sc.Name]; ok {
			values = v
		}
		warning, err := p.add(sc, values)
		if err != nil {
			p.release()
			return Result{}, nil, err
		}
		if warning != "" {
			res.Warnings = append(res.Warnings, warning)
			res.Skipped = append(res.Skipped, sc.Name)
			continue
		}
		res.Injected = append(res.Injected, sc.Name)
	}
	if len(res.Injected) == 0 {
		res.Reason = "no sidecar could be injected"
		p.release()
		return res, nil, nil
	}
	res.Patch = p.writePatch()
	res.Reason = "injected " + strings.Join(res.Injected, ", ") + " as requested by " + sel.source
	return res, p, nil
}

// resolve maps the requested names to sidecars, in config order, enforcing each
// sidecar's namespaces.
func resolve(sel selection, ns Namespace, cfg *config.Config) ([]*config.Sidecar, error) {
	sidecars := make([]*config.Sidecar, 0, len(sel.names))
	for _, name := range sel.names {
		sc := cfg.Sidecar(name)
		if sc == nil {
			return nil, deny(metav1.StatusReasonInvalid, "%s asks for sidecar %q, which is not defined in the Tandem config (defined: %s)",
				sel.source, name, strings.Join(cfg.Names(), ", "))
		}
		if err := allowed(sc, ns); err != nil {
			return nil, err
		}
		sidecars = append(sidecars, sc)
	}
	// Config order, not the order the pod wrote: the platform team decides which native
	// sidecar starts first (a proxy before an agent that needs the network), and
	// "logs,proxy" and "proxy,logs" give the same pod.
	slices.SortFunc(sidecars, func(a, b *config.Sidecar) int { return a.Index - b.Index })
	return sidecars, nil
}

// allowed enforces a sidecar's namespaces selector. It is a security boundary, so it
// denies whatever the sidecar's failurePolicy: a tenant must not obtain a sidecar that
// the platform team reserved for other namespaces.
func allowed(sc *config.Sidecar, ns Namespace) error {
	if sc.Namespaces == nil {
		return nil
	}
	if !ns.LabelsKnown {
		return deny(metav1.StatusReasonForbidden, "sidecar %q is restricted to namespaces matching %q, and the labels of namespace %q are not known to Tandem",
			sc.Name, sc.Namespaces.String(), ns.Name)
	}
	if !sc.Namespaces.Matches(labelSet(ns.Labels)) {
		return deny(metav1.StatusReasonForbidden, "sidecar %q is not allowed in namespace %q: it is restricted to namespaces matching %q",
			sc.Name, ns.Name, sc.Namespaces.String())
	}
	return nil
}
