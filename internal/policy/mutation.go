package policy

import (
	"errors"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/inject"
)

// additions: what the injected sidecars add, as lists in config order, with what the pod
// already has (and what an earlier sidecar added) left out, as the engine does.
func (p *program) additions() {
	each := func(parts func(*sidecarCEL) []string) string {
		var terms []string
		for _, sc := range p.sidecars {
			if items := parts(sc); len(items) > 0 {
				// dyn: sidecars' parts are maps of different shapes, and CEL types a list
				// by its elements.
				terms = append(terms, "(variables."+sc.id+"_ok ? [dyn("+strings.Join(items, "), dyn(")+")] : [])")
			}
		}
		return joinOr(terms, " + ", "[]")
	}
	for i := range config.Fields {
		f := &config.Fields[i]
		all, items := "variables.all"+f.Ident, func(sc *sidecarCEL) []string { return sc.lists[i] }
		switch {
		case f.Placement == config.InMetadata: // keyOps, below
		case f.Clashes: // a clash refused the sidecar: nothing to leave out
			p.v("new"+f.Ident, each(items))
		case f.Placement == config.InPod:
			// The first sidecar's wins, and the pod keeps what it has. An item known by
			// its name alone is its name.
			elem, member := "e", "."+f.NameKey
			if f.NameOnly {
				elem, member = "s", ""
			}
			p.v("all"+f.Ident, each(items))
			p.v("new"+f.Ident, firstOf(all, member)+".filter("+elem+", !("+elem+member+" in object.spec.?"+f.Key+
				".orValue([]).map(x, x.?"+f.NameKey+".orValue(''))))")
		case f.Placement == config.InEachContainer:
			// By name (or path): the first sidecar's wins, and the pod's own container
			// keeps what it set.
			p.v("all"+f.Ident, each(items))
			p.v("new"+f.Ident, "object.spec.?containers.orValue([]).map(c, "+firstOf(all, "."+f.NameKey)+
				".filter(e, !(e."+f.NameKey+" in c.?"+f.Key+".orValue([]).map(x, x."+f.NameKey+"))))")
		}
	}
}

// firstOf keeps the first element of list for each key; field names the key in an
// element ("" for the element itself).
func firstOf(list, field string) string {
	keyOf := func(elem string) string { return elem + field }
	return "lists.range(size(" + list + ")).filter(i, " + list + ".map(e, " + keyOf("e") + ").indexOf(" + keyOf(list+"[i]") + ") == i).map(i, " + list + "[i])"
}

// mutation is the JSON Patch, as CEL: adds only, nothing the pod has replaced, the
// engine's order of containers; lists and maps the pod lacks are added whole.
func (p *program) mutation() string {
	var ops []string
	for i := range config.Fields {
		if f := &config.Fields[i]; f.Placement == config.InMetadata {
			last := ""
			if i == config.FieldAnnotations {
				last = "variables.status"
			}
			ops = append(ops, p.keyOps(f.Key, i, last))
		}
	}
	for i := range config.Fields {
		f := &config.Fields[i]
		items := "variables.new" + f.Ident
		switch {
		case f.Placement == config.InEachContainer:
			ops = append(ops, perContainer(f.Key, items))
			continue
		case f.Placement != config.InPod:
			continue
		case f.NameOnly:
			items += ".map(s, {" + quote(f.NameKey) + ": s})"
		}
		add := appendAll
		if f.Front {
			add = insertFront
		}
		ops = append(ops, add("/spec/"+f.Key, "object.spec.?"+f.Key, items))
	}
	return "!variables.active ? [] :\n" + strings.Join(ops, "\n+ ")
}

// keyOps adds labels or annotations the pod lacks, each from the first injected sidecar
// that sets it; last, when not empty, is the status annotation's value.
func (p *program) keyOps(field string, at int, last string) string {
	providers := map[string][]string{} // key -> "ok ? value" in config order
	for _, sc := range p.sidecars {
		for _, kv := range sc.entries[at] {
			providers[kv.key] = append(providers[kv.key], "variables."+sc.id+"_ok", kv.value)
		}
	}
	keys := make([]string, 0, len(providers))
	for k := range providers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	existing := "variables." + field
	var ops, conds []string
	for _, k := range keys {
		pv := providers[k]
		var any, value []string
		for i := 0; i < len(pv); i += 2 {
			any = append(any, pv[i])
			value = append(value, pv[i]+" ? "+pv[i+1]+" : ")
		}
		cond := "!(" + quote(k) + " in " + existing + ") && (" + strings.Join(any, " || ") + ")"
		conds = append(conds, "("+cond+")")
		ops = append(ops, "("+cond+" ? [JSONPatch{op: 'add', path: "+quote("/metadata/"+field+"/"+pointerKey(k))+", value: "+strings.Join(value, "")+"''}] : [])")
	}
	if last != "" {
		conds = append(conds, "true")
		ops = append(ops, "[JSONPatch{op: 'add', path: "+quote("/metadata/"+field+"/"+pointerKey(statusKey))+", value: "+last+"}]")
	}
	if len(ops) == 0 {
		return "[]"
	}
	// Adding under a map the pod lacks needs the map first.
	create := "(!has(object.metadata." + field + ") && (" + strings.Join(conds, " || ") + ") ? [JSONPatch{op: 'add', path: " + quote("/metadata/"+field) + ", value: {}}] : [])"
	return create + " + " + strings.Join(ops, " + ")
}

// insertFront puts items before the list's own, in order.
func insertFront(path, list, items string) string {
	return "(size(" + list + ".orValue([])) == 0 ? (size(" + items + ") == 0 ? [] : [JSONPatch{op: 'add', path: " + quote(path) + ", value: " + items + "}])" +
		" : lists.range(size(" + items + ")).map(i, JSONPatch{op: 'add', path: " + quote(path+"/") + " + string(i), value: " + items + "[i]}))"
}

// appendAll puts items after the list's own.
func appendAll(path, list, items string) string {
	return "(size(" + list + ".orValue([])) == 0 ? (size(" + items + ") == 0 ? [] : [JSONPatch{op: 'add', path: " + quote(path) + ", value: " + items + "}])" +
		" : " + items + ".map(x, JSONPatch{op: 'add', path: " + quote(path+"/-") + ", value: x}))"
}

// perContainer appends perList[i] to field of the pod's container i.
func perContainer(field, perList string) string {
	path := "'/spec/containers/' + string(i) + " + quote("/"+field)
	return "lists.range(size(" + perList + ")).filter(i, size(" + perList + "[i]) > 0).map(i, " +
		"size(object.spec.containers[i].?" + field + ".orValue([])) == 0 ? [JSONPatch{op: 'add', path: " + path + ", value: " + perList + "[i]}]" +
		" : " + perList + "[i].map(x, JSONPatch{op: 'add', path: " + path + " + '/-', value: x})).flatten()"
}

// validation refuses, with the engine's message, the pods the engine would refuse.
func (p *program) validation() admissionv1.Validation {
	return admissionv1.Validation{
		Expression:        "!(size(variables.requested) > 0 && variables.owned) || size(variables.denials) == 0",
		MessageExpression: "variables.denials[0]",
		Reason:            ptr.To(metav1.StatusReasonInvalid),
	}
}

// selectionVars are the variables up to "owned": enough to tell whether a pod is the
// policy's.
func (p *program) selectionVars() ([]admissionv1.Variable, error) {
	for i, v := range p.vars {
		if v.Name == "owned" {
			return p.vars[:i+1], nil
		}
	}
	return nil, errors.New("the compiled program has no variable \"owned\"; the warning policy cannot tell which pods are its own")
}

// skippedEntries are the status entries of the compiled sidecars that can be left out,
// each with the warning the webhook gives for it (for a clash, the engine's sentence for
// a writer that keeps no details: tandem explain gives them).
func (p *program) skippedEntries() (entries, warnings []string) {
	for _, sc := range p.sidecars {
		name := sc.sc.Name
		if sc.sc.OnHostNetwork() == config.HostNetworkSkip {
			entries = append(entries, inject.StatusSkippedEntry(name, string(inject.ReasonHostNetwork)))
			warnings = append(warnings, inject.Warning(inject.ReasonHostNetwork, inject.HostNetworkSkipMessage(sc.sc)))
		}
		if sc.sc.FailurePolicy == config.FailurePolicyIgnore {
			for _, r := range []inject.Reason{inject.ReasonNameClash, inject.ReasonPortClash} {
				entries = append(entries, inject.StatusSkippedEntry(name, string(r)))
				warnings = append(warnings, inject.Warning(r, inject.BestEffortLeftOut(name)))
			}
		}
	}
	return entries, warnings
}

// statusCEL is the pod's status annotation, "" when it has none.
var statusCEL = "object.metadata.?annotations[?" + quote(statusKey) + "].orValue('')"

// skippedCondition picks the pods whose status annotation records a compiled sidecar left
// out: the validating policy that warns sees the pod after the mutating one wrote it.
func (p *program) skippedCondition() admissionv1.MatchCondition {
	entries, _ := p.skippedEntries()
	return admissionv1.MatchCondition{Name: "sidecars-skipped", Expression: quoteList(entries) + ".exists(e, " + statusCEL + ".contains(e))"}
}

// skippedWarning says, as kubectl prints warnings, which best-effort sidecars the policy
// left out of the pod, and why: the webhook's warning, found by the exact status entry.
func (p *program) skippedWarning() admissionv1.Validation {
	entries, warnings := p.skippedEntries()
	pairs := make([]string, len(entries))
	for i, e := range entries {
		pairs[i] = "[" + quote(e) + ", " + quote(warnings[i]) + "]"
	}
	return admissionv1.Validation{
		Expression:        "!variables.owned",
		MessageExpression: "[" + strings.Join(pairs, ", ") + "].filter(x, " + statusCEL + ".contains(x[0])).map(x, x[1]).join('; ')",
	}
}
