package audit

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/internal/output"
)

// Ref names a Kubernetes object.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

func (r Ref) group() string {
	gv, _ := schema.ParseGroupVersion(r.APIVersion)
	return gv.Group
}

// is says whether r is a kind of a group; the version does not matter.
func (r Ref) is(group, kind string) bool { return r.Kind == kind && r.group() == group }

// Finding is one pod that lacks sidecars it asked for, or carries outdated ones, with the
// workload to act on.
type Finding struct {
	Pod string
	// Owner is the top of the pod's chain of controllers (a Deployment, not its
	// ReplicaSet), or the pod itself (kind Pod) when nothing controls it. Its namespace
	// is the pod's.
	Owner             Ref
	Missing, Outdated []string
}

// Report is what `tandem audit` prints.
type Report struct {
	// Audited counts the pods looked at: those not finished and not being deleted.
	Audited int     `json:"audited"`
	Owners  []Owner `json:"owners"`
	// Controller is what the installed Tandem's rollout controller does, when it runs
	// one; nil otherwise.
	Controller *Controller `json:"controller,omitempty"`
}

// Controller is the state of the rollout controller of the installed Tandem.
type Controller struct {
	// Deployment is Tandem's, NAMESPACE/NAME; Settings its rollout flags, for people.
	Deployment string `json:"deployment"`
	Settings   string `json:"settings"`
	// Stopped says why nothing moves (paused, halted); Next is the step it takes next.
	Stopped string `json:"stopped,omitempty"`
	Next    string `json:"next,omitempty"`
}

// Clean says whether every pod audited carries the current definition of every sidecar
// it asked for.
func (r Report) Clean() bool { return len(r.Owners) == 0 }

// Owner is the findings of one workload, and how to fix them.
type Owner struct {
	Ref
	Pods []Pod `json:"pods"`
	// Missing and Outdated count, per sidecar, the pods that lack it and those that carry
	// an outdated definition of it.
	Missing  map[string]int `json:"missing"`
	Outdated map[string]int `json:"outdated"`
	// Command fixes it, when one command can: restarting the workload, or deleting pods
	// that a controller then creates again. Fix says it in a sentence.
	Command string `json:"command,omitempty"`
	Fix     string `json:"fix"`
	// Controller says what the rollout controller does with these pods, when it runs.
	Controller string `json:"controller,omitempty"`
}

// Pod is one pod's findings.
type Pod struct {
	Name     string   `json:"name"`
	Missing  []string `json:"missing,omitempty"`
	Outdated []string `json:"outdated,omitempty"`
}

// Group gathers findings by owner, sorted by namespace, kind and name, each owner's pods
// by name.
func Group(findings []Finding) []Owner {
	byRef := map[Ref]*Owner{}
	for _, f := range findings {
		o := byRef[f.Owner]
		if o == nil {
			o = &Owner{Ref: f.Owner, Missing: map[string]int{}, Outdated: map[string]int{}}
			byRef[f.Owner] = o
		}
		o.Pods = append(o.Pods, Pod{Name: f.Pod, Missing: f.Missing, Outdated: f.Outdated})
		for _, s := range f.Missing {
			o.Missing[s]++
		}
		for _, s := range f.Outdated {
			o.Outdated[s]++
		}
	}
	owners := make([]Owner, 0, len(byRef))
	for _, o := range byRef {
		slices.SortFunc(o.Pods, func(a, b Pod) int { return strings.Compare(a.Name, b.Name) })
		o.Command, o.Fix = fix(o.Ref, o.Pods)
		owners = append(owners, *o)
	}
	slices.SortFunc(owners, func(a, b Owner) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Kind, b.Kind),
			strings.Compare(a.Name, b.Name), strings.Compare(a.APIVersion, b.APIVersion))
	})
	return owners
}

// fix says how to bring an owner's pods up to date: tandem rollout changes a sidecar's
// image or resources in place and recreates the pods through the owner's own rollout for
// anything else; a bare pod or a Job's is left to a person.
func fix(ref Ref, pods []Pod) (command, sentence string) {
	ns := ref.Namespace
	switch {
	case ref.is("apps", "Deployment"), ref.is("apps", "StatefulSet"), ref.is("apps", "DaemonSet"):
		return fmt.Sprintf("tandem rollout --apply -n %s --owner %s/%s", ns, strings.ToLower(ref.Kind), ref.Name),
			RollSentence
	case ref.is("batch", "CronJob"):
		return "", "nothing to run: the CronJob's next Job gets the current sidecars; Jobs running now finish as they are"
	case ref.is("batch", "Job"):
		return "", "a Job does not replace its pods: let it finish, or delete the Job and create it again"
	case ref.is("", "Pod"):
		return "", "nothing recreates a bare pod: delete it and create it again"
	}
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Name
	}
	return fmt.Sprintf("kubectl -n %s delete pod %s", ns, strings.Join(names, " ")),
		fmt.Sprintf("delete the pods: their controller, %s %s, creates them again", kindName(ref), ref.Name)
}

// RollSentence is the fix for an owner tandem rollout can roll.
const RollSentence = "roll it: sidecars are updated in place where a running pod accepts the change, and the pods are recreated through its own rollout otherwise"

// kindName is a kind as people read it: Deployment, or Rollout.argoproj.io for a kind
// of another group than Kubernetes' own.
func kindName(ref Ref) string {
	switch g := ref.group(); g {
	case "", "apps", "batch":
		return ref.Kind
	default:
		return ref.Kind + "." + g
	}
}

// Formats are the values of `tandem audit -o`.
var Formats = []string{"text", "json", "yaml"}

// Write renders the report in format, one of Formats.
func Write(w io.Writer, format string, r Report) error {
	switch format {
	case "text":
		return WriteText(w, r)
	case "json":
		return output.JSON(w, nonNilOwners(r))
	case "yaml":
		return output.YAML(w, nonNilOwners(r))
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the report as one JSON object.
func WriteJSON(w io.Writer, r Report) error { return Write(w, "json", r) }

// nonNilOwners makes an empty list of owners come out as [], not null: readers iterate it.
func nonNilOwners(r Report) Report {
	if r.Owners == nil {
		r.Owners = []Owner{}
	}
	return r
}

// WriteText writes the report for people: a block per owner, then a summary line.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	pods := 0
	for _, o := range r.Owners {
		pods += len(o.Pods)
		if o.is("", "Pod") {
			fmt.Fprintf(&b, "Pod %s/%s (a bare pod: no controller)\n", o.Namespace, o.Name)
		} else {
			fmt.Fprintf(&b, "%s %s/%s: %s\n", kindName(o.Ref), o.Namespace, o.Name, plural(len(o.Pods), "pod"))
		}
		if len(o.Missing) > 0 {
			fmt.Fprintf(&b, "  missing   %s\n", perSidecar(o.Missing))
		}
		if len(o.Outdated) > 0 {
			fmt.Fprintf(&b, "  outdated  %s\n", perSidecar(o.Outdated))
		}
		if o.Command != "" {
			fmt.Fprintf(&b, "  fix       %s\n", o.Command)
		} else {
			fmt.Fprintf(&b, "  fix       %s\n", o.Fix)
		}
		if o.Controller != "" {
			fmt.Fprintf(&b, "  rollout   %s\n", o.Controller)
		}
		b.WriteString("\n")
	}
	if r.Clean() {
		fmt.Fprintf(&b, "%s audited: each carries the current definition of every sidecar it asked for.\n", plural(r.Audited, "pod"))
	} else {
		fmt.Fprintf(&b, "%s of %s lack sidecars they asked for or carry outdated ones (%s audited).\n",
			plural(pods, "pod"), plural(len(r.Owners), "owner"), plural(r.Audited, "pod"))
	}
	if c := r.Controller; c != nil {
		fmt.Fprintf(&b, "Rollout controller (Deployment %s: %s): ", c.Deployment, c.Settings)
		switch {
		case c.Stopped != "":
			b.WriteString(c.Stopped + "\n")
		case c.Next != "":
			b.WriteString("next, " + c.Next + "\n")
		default:
			b.WriteString("nothing it may do.\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// perSidecar renders {"proxy": 3, "logs": 1} as "logs (1 pod), proxy (3 pods)".
func perSidecar(m map[string]int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s (%s)", name, plural(m[name], "pod")))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
