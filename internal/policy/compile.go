package policy

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/internal/config"
)

// Options adjust what Compile writes.
type Options struct {
	// Name names the policies and their bindings; "tandem" when empty.
	Name string
	// Partial compiles the sidecars that can be and leaves the others to the webhook.
	// Without it, one sidecar that cannot be compiled fails the whole compile.
	Partial bool
}

// Annotations on the compiled objects: what they were compiled from, and which sidecars
// they inject. The chart reads them to route only the other pods to the webhook.
const (
	ConfigSHA256Key     = config.KeyPrefix + "config-sha256"
	CompiledSidecarsKey = config.KeyPrefix + "compiled-sidecars"
	WebhookSidecarsKey  = config.KeyPrefix + "webhook-sidecars"
)

// Output is the compiled policy.
type Output struct {
	// Objects are the MutatingAdmissionPolicy, its binding, the
	// ValidatingAdmissionPolicy that refuses pods and its binding, and the one that warns
	// of best-effort sidecars left out (NAME-warnings) and its binding, in the order to
	// apply them.
	Objects []runtime.Object
	// Compiled names the sidecars the policy injects; Webhook those left to the webhook,
	// each with its Problems.
	Compiled, Webhook []string
	Problems          []Problem
}

// Error says which sidecars cannot be compiled, and where.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	var names []string
	for _, p := range e.Problems {
		if !slices.Contains(names, p.Sidecar) {
			names = append(names, p.Sidecar)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of the sidecars cannot be compiled to admission policy (%s); --partial compiles the others and leaves these to the webhook:", len(names), strings.Join(names, ", "))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Compile translates cfg into admission policies. A sidecar that cannot be expressed
// exactly fails the compile, unless opts.Partial: then it is left out, and pods that ask
// for it are left to the webhook whole.
func Compile(cfg *config.Config, opts Options) (*Output, error) {
	if opts.Name == "" {
		opts.Name = "tandem"
	}
	out := &Output{}
	var compiled []*sidecarCEL
	for _, sc := range cfg.Sidecars {
		c, problems := compileSidecar(sc)
		if len(problems) > 0 {
			out.Webhook = append(out.Webhook, sc.Name)
			out.Problems = append(out.Problems, problems...)
			continue
		}
		compiled = append(compiled, c)
		out.Compiled = append(out.Compiled, sc.Name)
	}
	if len(out.Problems) > 0 && !opts.Partial {
		return out, &Error{Problems: out.Problems}
	}
	if len(compiled) == 0 {
		return out, fmt.Errorf("no sidecar of %s can be compiled to admission policy; serve them with the webhook", cfg.Source)
	}
	p := newProgram(cfg, compiled, len(out.Webhook) > 0)
	meta := metav1.ObjectMeta{Name: opts.Name, Annotations: map[string]string{
		ConfigSHA256Key:     cfg.SHA256,
		CompiledSidecarsKey: strings.Join(out.Compiled, ","),
		WebhookSidecarsKey:  strings.Join(out.Webhook, ","),
	}}
	objs, err := objects(meta, p)
	if err != nil {
		return out, fmt.Errorf("compiling %s: %w", cfg.Source, err)
	}
	out.Objects = objs
	return out, nil
}

// objects wraps the program in the three policies, each followed by its binding: the
// mutating one, the validating one that refuses pods, and NAME-warnings.
func objects(meta metav1.ObjectMeta, p *program) ([]runtime.Object, error) {
	selection, err := p.selectionVars()
	if err != nil {
		return nil, err
	}
	pods := &admissionv1.MatchResources{
		// The namespaces the webhook never sees either: Kubernetes' own.
		NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
			Values: []string{"kube-system", "kube-node-lease", "kube-public"},
		}}},
		ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create},
			Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}}},
	}
	mutating := &admissionv1.MutatingAdmissionPolicy{
		TypeMeta:   typeMeta("MutatingAdmissionPolicy"),
		ObjectMeta: *meta.DeepCopy(),
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			MatchConstraints:   pods.DeepCopy(),
			MatchConditions:    p.matchConditions(),
			Variables:          p.vars,
			Mutations:          []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{Expression: p.mutation()}}},
			FailurePolicy:      ptr.To(admissionv1.Fail),
			ReinvocationPolicy: admissionv1.IfNeededReinvocationPolicy,
		},
	}
	objs := []runtime.Object{mutating, &admissionv1.MutatingAdmissionPolicyBinding{
		TypeMeta:   typeMeta("MutatingAdmissionPolicyBinding"),
		ObjectMeta: *meta.DeepCopy(),
		Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: meta.Name},
	}}
	objs = append(objs, validating(meta, admissionv1.Deny, admissionv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: pods.DeepCopy(),
		MatchConditions:  p.matchConditions(),
		Variables:        p.vars,
		Validations:      []admissionv1.Validation{p.validation()},
		FailurePolicy:    ptr.To(admissionv1.Fail),
	})...)
	warnings := *meta.DeepCopy()
	warnings.Name += "-warnings"
	return append(objs, validating(warnings, admissionv1.Warn, admissionv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: pods.DeepCopy(),
		MatchConditions:  []admissionv1.MatchCondition{p.skippedCondition()},
		Variables:        selection,
		Validations:      []admissionv1.Validation{p.skippedWarning()},
		FailurePolicy:    ptr.To(admissionv1.Ignore),
	})...), nil
}

// validating is a ValidatingAdmissionPolicy and its binding with action.
func validating(meta metav1.ObjectMeta, action admissionv1.ValidationAction, spec admissionv1.ValidatingAdmissionPolicySpec) []runtime.Object {
	return []runtime.Object{
		&admissionv1.ValidatingAdmissionPolicy{TypeMeta: typeMeta("ValidatingAdmissionPolicy"), ObjectMeta: *meta.DeepCopy(), Spec: spec},
		&admissionv1.ValidatingAdmissionPolicyBinding{
			TypeMeta:   typeMeta("ValidatingAdmissionPolicyBinding"),
			ObjectMeta: *meta.DeepCopy(),
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: meta.Name, ValidationActions: []admissionv1.ValidationAction{action},
			},
		},
	}
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: kind}
}
