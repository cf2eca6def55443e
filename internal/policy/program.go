package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// program is the CEL that both policies share: variables that decide, as the engine
// does, what each requested sidecar becomes. CEL variables are evaluated lazily, so the
// validating policy pays only for the ones its message needs.
type program struct {
	cfg      *config.Config
	sidecars []*sidecarCEL
	partial  bool
	vars     []admissionv1.Variable
}

const (
	injectKey = inject.InjectKey
	statusKey = inject.StatusKey
)

func newProgram(cfg *config.Config, sidecars []*sidecarCEL, partial bool) *program {
	p := &program{cfg: cfg, sidecars: sidecars, partial: partial}
	p.selection()
	p.pod()
	p.knobs()
	for i, sc := range sidecars {
		p.sidecar(sc, sidecars[:i])
	}
	p.outcome()
	p.additions()
	return p
}

func (p *program) v(name, expr string) {
	p.vars = append(p.vars, admissionv1.Variable{Name: name, Expression: expr})
}

// defined lists every sidecar of the configuration, compiled or not, as the engine's
// messages do.
func (p *program) defined() string { return quoteList(p.cfg.Names()) }

// matchConditions keep the policies off pods the engine leaves alone before reading the
// namespace: opted out, or through Tandem already (which also makes reinvocation a
// no-op). Match conditions cannot see the namespace; the rest is in the variables.
func (p *program) matchConditions() []admissionv1.MatchCondition {
	return []admissionv1.MatchCondition{
		{Name: "not-opted-out", Expression: "object.metadata.?labels[?" + quote(injectKey) + "].orValue('') != " + quote(inject.OptOut)},
		{Name: "not-injected", Expression: "!(" + quote(statusKey) + " in object.metadata.?annotations.orValue({}))"},
	}
}

// selection: what the pod asks for, and whether the policy owns the pod.
func (p *program) selection() {
	p.v("labels", "object.metadata.?labels.orValue({})")
	p.v("annotations", "object.metadata.?annotations.orValue({})")
	p.v("nsLabels", "namespaceObject.metadata.?labels.orValue({})")
	p.v("fromPod", quote(injectKey)+" in variables.annotations")
	p.v("source", "variables.fromPod ? "+quote(inject.SourcePodAnnotation)+" : "+sayNamespaceLabel.cel(expr("request.namespace")))
	p.v("requested", "(variables.fromPod ? variables.annotations["+quote(injectKey)+"] : variables.nsLabels[?"+quote(injectKey)+"].orValue(''))"+
		parseListCEL())
	owned := "true"
	if p.partial {
		// A pod that asks for a sidecar left to the webhook is the webhook's, whole.
		var names []string
		for _, sc := range p.sidecars {
			names = append(names, sc.sc.Name)
		}
		owned = "variables.requested.all(n, n in " + quoteList(names) + " || !(n in " + p.defined() + "))"
	}
	p.v("owned", owned)
	var restricted []string
	for _, sc := range p.sidecars {
		if sc.sc.Namespaces != nil {
			p.v(sc.id+"_allowed", selectorCEL(sc.sc.Namespaces, "variables.nsLabels"))
			restricted = append(restricted, "(variables."+sc.id+"_allowed ? [] : ["+quote(sc.sc.Name)+"])")
		}
	}
	p.v("notAllowed", joinOr(restricted, " + ", "[]"))
	p.v("resolved", "variables.requested.filter(n, n in "+p.defined()+" && !(n in variables.notAllowed))")
}

// pod: the names the pod has taken.
func (p *program) pod() {
	p.v("hostNetwork", "object.spec.?hostNetwork.orValue(false)")
	p.v("podNames", "object.spec.?containers.orValue([]).map(c, c.name) + object.spec.?initContainers.orValue([]).map(c, c.name)")
	ports := func(list string) string {
		return "object.spec.?" + list + ".orValue([]).map(c, c.?ports.orValue([]).map(p, {'c': dyn(c.name), 'p': dyn(string(p.containerPort) + '/' + p.?protocol.orValue('TCP'))})).flatten()"
	}
	p.v("podPorts", ports("containers")+" + "+ports("initContainers"))
	p.v("podVolumes", "object.spec.?volumes.orValue([]).map(v, v.name)")
}

// knobs: the first override annotation the engine would refuse, in sorted order.
func (p *program) knobs() {
	overridable := map[string]string{}
	lists := map[string]string{}
	for _, sc := range p.cfg.Sidecars {
		keys := slices.Sorted(maps.Keys(sc.Overridable))
		lists[sc.Name] = quote(inject.OverridableList(sc))
		var entries []string
		for _, k := range keys {
			entries = append(entries, quote(k)+": "+quote(sc.Overridable[k].String()))
		}
		overridable[sc.Name] = "{" + strings.Join(entries, ", ") + "}"
	}
	p.v("overridable", mapLiteral(overridable, true))
	prefix := fmt.Sprint(len(config.KeyPrefix))
	p.v("knobKeys", "variables.annotations.filter(k, k.startsWith("+quote(config.KeyPrefix)+") && k.substring("+prefix+").contains('.')).sort()")
	p.v("knobParts", "variables.knobKeys.map(k, k.substring("+prefix+").split('.', 2))")
	p.v("badKnob", "lists.range(size(variables.knobKeys)).filter(i, "+
		"!(variables.knobParts[i][0] in "+p.defined()+") || (variables.knobParts[i][0] in variables.resolved && "+
		"!(variables.knobParts[i][1] in variables.overridable[variables.knobParts[i][0]] && "+
		"variables.annotations[variables.knobKeys[i]].matches(variables.overridable[variables.knobParts[i][0]][variables.knobParts[i][1]])))"+
		")")
	p.v("firstBadKnob", "size(variables.badKnob) == 0 ? -1 : variables.badKnob[0]")
	p.v("knobSidecar", "variables.firstBadKnob < 0 ? '' : variables.knobParts[variables.firstBadKnob][0]")
	key := "variables.knobKeys[variables.firstBadKnob]"
	knob := "variables.knobParts[variables.firstBadKnob][1]"
	sidecar := expr("variables.knobSidecar")
	p.v("knobDenial", "variables.firstBadKnob < 0 ? '' : "+
		"!(variables.knobSidecar in "+p.defined()+") ? "+sayKnobSidecar.cel(expr(key), sidecar, lit(inject.NameList(p.cfg.Names())))+" : "+
		"!("+knob+" in variables.overridable[variables.knobSidecar]) ? "+sayKnobName.cel(expr(key), sidecar, expr(knob), expr(mapLiteral(lists, false)+"[variables.knobSidecar]"))+" : "+
		sayKnobValue.cel(expr(key), expr("variables.annotations["+key+"]"), expr("variables.overridable[variables.knobSidecar]["+knob+"]")))
}

// sidecar: what becomes of one compiled sidecar, in config order; earlier are those
// before it, whose names and ports it must not take when they are injected.
func (p *program) sidecar(sc *sidecarCEL, earlier []*sidecarCEL) {
	id, name := "variables."+sc.id, sc.sc.Name
	p.v(sc.id+"_want", quote(name)+" in variables.resolved")
	if len(sc.sc.Values) > 0 {
		knobs := map[string]string{}
		for k, v := range sc.sc.Values {
			knobs[k] = quote(v)
			if _, ok := sc.sc.Overridable[k]; ok {
				knobs[k] = "variables.annotations[?" + quote(inject.KnobKey(name, k)) + "].orValue(" + quote(v) + ")"
			}
		}
		p.v(sc.id+"_knobs", mapLiteral(knobs, false))
	}
	p.v(sc.id+"_problems", joinOr(clashes(sc, earlier), " + ", "[]"))
	host := sc.sc.OnHostNetwork()
	blocked := "false" // the host network keeps the sidecar out
	if host != config.HostNetworkInject {
		blocked = "variables.hostNetwork"
	}
	badKnob := "variables.knobSidecar == " + quote(name)
	p.v(sc.id+"_ok", id+"_want && !("+badKnob+") && !"+blocked+" && size("+id+"_problems) == 0")
	hostDenial, hostSkip := "''", "''"
	switch host {
	case config.HostNetworkDeny:
		hostDenial = sayHostDenial.cel(lit(name))
	case config.HostNetworkSkip:
		hostSkip = quote(string(inject.ReasonHostNetwork))
	}
	clashDenial, clashSkip := sayClashDenial.cel(lit(name), expr(id+"_problems.map(x, x.m).join("+quote(inject.ProblemSeparator)+")")), "''"
	if sc.sc.FailurePolicy == config.FailurePolicyIgnore {
		clashDenial, clashSkip = "''", id+"_problems[0].r"
	}
	p.v(sc.id+"_denial", "!"+id+"_want ? '' : "+badKnob+" ? variables.knobDenial : "+blocked+" ? "+hostDenial+" : size("+id+"_problems) > 0 ? "+clashDenial+" : ''")
	p.v(sc.id+"_skipped", "!"+id+"_want || "+badKnob+" ? '' : "+blocked+" ? "+hostSkip+" : size("+id+"_problems) > 0 ? "+clashSkip+" : ''")
}

// outcome: the denials in the engine's order (the first is the pod's), and the status
// annotation.
func (p *program) outcome() {
	selectors := map[string]string{}
	for _, sc := range p.sidecars {
		if sc.sc.Namespaces != nil {
			selectors[sc.sc.Name] = quote(sc.sc.Namespaces.String())
		}
	}
	notAllowed := sayNotAllowed.cel(expr("n"), expr("request.namespace"), expr(mapLiteral(selectors, false)+"[n]"))
	if len(selectors) == 0 {
		notAllowed = "''"
	}
	unknown := sayUnknownSidecar.cel(expr("variables.source"), expr("n"), lit(inject.NameList(p.cfg.Names())))
	var perSidecar, injected, skipped []string
	for _, sc := range p.sidecars {
		id := "variables." + sc.id
		perSidecar = append(perSidecar, id+"_denial")
		injected = append(injected, "("+id+"_ok ? ["+quote(inject.StatusSidecarEntry(sc.sc))+"] : [])")
		skipped = append(skipped, "("+id+"_skipped != '' ? ["+saySkippedEntry.cel(lit(sc.sc.Name), expr(id+"_skipped"))+"] : [])")
	}
	p.v("denials", "variables.requested.filter(n, !(n in "+p.defined()+") || n in variables.notAllowed).map(n, n in variables.notAllowed ? "+notAllowed+" : "+unknown+")"+
		" + (variables.firstBadKnob >= 0 && !(variables.knobSidecar in variables.resolved) ? [variables.knobDenial] : [])"+
		" + ["+strings.Join(perSidecar, ", ")+"].filter(m, m != '')")
	p.v("active", "size(variables.requested) > 0 && variables.owned && size(variables.denials) == 0")
	p.v("skipped", strings.Join(skipped, " + "))
	sep := quote(inject.StatusEntrySeparator)
	p.v("statusSidecars", "("+strings.Join(injected, " + ")+").join("+sep+")")
	sidecars := expr("variables.statusSidecars")
	p.v("status", "size(variables.skipped) > 0 ? "+sayStatus.cel(sidecars, expr("variables.skipped.join("+sep+")"))+" : "+sayStatusInjected.cel(sidecars))
}

// clashes lists, as CEL, each name and port of sc that the pod or an earlier injected
// sidecar has taken: the engine's checks, in its order, with its messages.
func clashes(sc *sidecarCEL, earlier []*sidecarCEL) []string {
	var out []string
	// owner adds the check of one name or port: taken by the pod (podHas), whose owner
	// podOwner names, or by an earlier sidecar that is injected; say is the sentence.
	owner := func(podHas string, podOwner arg, reason inject.Reason, say func(owner arg) string, taken func(*config.Sidecar) bool) {
		e := "(" + podHas + " ? [{'r': " + quote(string(reason)) + ", 'm': " + say(podOwner) + "}]"
		for _, o := range earlier {
			if taken(o.sc) {
				e += " : variables." + o.id + "_ok ? [{'r': " + quote(string(reason)) + ", 'm': " + say(lit(inject.SidecarOwner(o.sc.Name))) + "}]"
			}
		}
		out = append(out, e+" : [])")
	}
	pod := lit(inject.OwnerPod)
	for _, list := range [][]config.Part{sc.sc.Parts[config.FieldInitContainers], sc.sc.Parts[config.FieldContainers]} {
		for _, c := range list {
			owner(quote(c.Name)+" in variables.podNames", pod, inject.ReasonNameClash,
				func(o arg) string { return sayContainerTaken.cel(lit(c.Name), o) },
				func(o *config.Sidecar) bool {
					return hasPart(o.Parts[config.FieldContainers], c.Name) || hasPart(o.Parts[config.FieldInitContainers], c.Name)
				})
			for _, port := range c.Ports {
				name := inject.PortName(port.Number, string(port.Protocol))
				key := quote(name)
				podContainer := expr(sayPodContainer.cel(expr("variables.podPorts.filter(x, x.p == " + key + ")[0].c")))
				owner("variables.podPorts.exists(x, x.p == "+key+")", podContainer, inject.ReasonPortClash,
					func(o arg) string { return sayPortTaken.cel(lit(name), lit(c.Name), o) },
					func(o *config.Sidecar) bool { return hasPort(o.Parts[config.FieldContainers], port) })
			}
		}
	}
	for _, v := range sc.sc.Parts[config.FieldVolumes] {
		owner(quote(v.Name)+" in variables.podVolumes", pod, inject.ReasonNameClash,
			func(o arg) string { return sayVolumeTaken.cel(lit(v.Name), o) },
			func(o *config.Sidecar) bool { return hasPart(o.Parts[config.FieldVolumes], v.Name) })
	}
	return out
}

func hasPart(parts []config.Part, name string) bool {
	for _, p := range parts {
		if p.Name == name {
			return true
		}
	}
	return false
}

func hasPort(parts []config.Part, port config.Port) bool {
	for _, p := range parts {
		for _, q := range p.Ports {
			if q == port {
				return true
			}
		}
	}
	return false
}

// selectorCEL is a namespace selector as CEL over the labels in m, with the meaning
// labels.Selector gives each operator.
func selectorCEL(sel labels.Selector, m string) string {
	reqs, _ := sel.Requirements()
	var terms []string
	for _, r := range reqs {
		key := quote(r.Key())
		values := quoteList(r.Values().List())
		switch r.Operator() {
		case selection.In, selection.Equals, selection.DoubleEquals:
			terms = append(terms, "("+key+" in "+m+" && "+m+"["+key+"] in "+values+")")
		case selection.NotIn, selection.NotEquals:
			terms = append(terms, "(!("+key+" in "+m+") || !("+m+"["+key+"] in "+values+"))")
		case selection.Exists:
			terms = append(terms, "("+key+" in "+m+")")
		case selection.DoesNotExist:
			terms = append(terms, "!("+key+" in "+m+")")
		default:
			// A LabelSelector has no other operators.
			terms = append(terms, "false")
		}
	}
	return joinOr(terms, " && ", "true")
}

// joinOr joins items, or gives empty when there are none.
func joinOr(items []string, sep, empty string) string {
	if len(items) == 0 {
		return empty
	}
	return strings.Join(items, sep)
}

// mapLiteral writes a CEL map from quoted keys to CEL values, sorted by key.
func mapLiteral(m map[string]string, dyn bool) string {
	var entries []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if dyn {
			v = "dyn(" + v + ")"
		}
		entries = append(entries, quote(k)+": "+v)
	}
	return "{" + strings.Join(entries, ", ") + "}"
}

// parseListCEL is inject.ParseList in CEL, from the engine's separators: every separator
// becomes a space, then the value is split at spaces and blanks and the opt-out are
// dropped. (Repeats stay: a sidecar asked for twice is still one sidecar to "in".)
func parseListCEL() string {
	var b strings.Builder
	for _, r := range inject.ListSeparators {
		if r != ' ' {
			b.WriteString(".replace(" + quote(string(r)) + ", ' ')")
		}
	}
	return b.String() + ".split(' ').filter(n, n != '' && n != " + quote(inject.OptOut) + ")"
}
