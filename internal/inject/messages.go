package inject

import (
	"strconv"
	"strings"

	"github.com/tandem-io/tandem/internal/config"
)

// The engine's sentences: every denial and warning it says, each built in one place from
// its variable parts, all strings. The engine calls them with values; the policy
// compiler calls them with placeholders that it turns into CEL, so that the webhook and
// the compiled policies say the same words (internal/policy tests it, sentence by
// sentence). A name in a sentence is quoted as Go's %q quotes it.

// SourcePodAnnotation names the pod annotation as what asked for sidecars.
const SourcePodAnnotation = "the pod annotation " + InjectKey

// SourceNamespaceLabel names the label of namespace ns as what asked for sidecars.
func SourceNamespaceLabel(ns string) string { return "the label " + InjectKey + " of namespace " + ns }

// NameList lists sidecar or knob names as the sentences do: "proxy, logs".
func NameList(names []string) string { return strings.Join(names, ", ") }

// UnknownSidecarDenial: source asks for a sidecar the configuration does not define;
// defined is the NameList of those it does.
func UnknownSidecarDenial(source, sidecar, defined string) string {
	return source + " asks for sidecar " + q(sidecar) + ", which is not defined in the Tandem config (defined: " + defined + ")"
}

// NamespaceNotAllowedDenial: the sidecar's namespaces selector excludes ns.
func NamespaceNotAllowedDenial(sidecar, ns, selector string) string {
	return "sidecar " + q(sidecar) + " is not allowed in namespace " + q(ns) + ": it is restricted to namespaces matching " + q(selector)
}

// NamespaceUnknownDenial: the sidecar is restricted, and the labels of ns are not known.
func NamespaceUnknownDenial(sidecar, selector, ns string) string {
	return "sidecar " + q(sidecar) + " is restricted to namespaces matching " + q(selector) + ", and the labels of namespace " + q(ns) + " are not known to Tandem"
}

// KnobSidecarDenial: the override annotation key names a sidecar the configuration does
// not define.
func KnobSidecarDenial(key, sidecar, defined string) string {
	return "annotation " + key + " names sidecar " + q(sidecar) + ", which is not defined in the Tandem config (defined: " + defined + ")"
}

// KnobNameDenial: the sidecar has no overridable knob of that name; overridable is the
// NameList of those it has, or "none".
func KnobNameDenial(key, sidecar, knob, overridable string) string {
	return "annotation " + key + ": sidecar " + q(sidecar) + " has no overridable knob " + q(knob) + " (overridable: " + overridable + ")"
}

// KnobValueDenial: the override's value does not match the knob's pattern.
func KnobValueDenial(key, value, pattern string) string {
	return "annotation " + key + ": value " + q(value) + " is not allowed; it must match " + pattern
}

// HostNetworkDenial: the sidecar's hostNetwork setting is deny.
func HostNetworkDenial(sidecar string) string {
	return "sidecar " + q(sidecar) + " refuses pods on the host network (its hostNetwork setting is deny); run the pod without hostNetwork or without the sidecar"
}

// HostNetworkSkip: the sidecar's hostNetwork setting is skip.
func HostNetworkSkip(sidecar string) string {
	return "sidecar " + q(sidecar) + " is not injected into a pod on the host network (its hostNetwork setting is skip)"
}

// HostNetworkPortsSkip: the sidecar's hostNetwork setting is auto, and it declares ports.
func HostNetworkPortsSkip(sidecar string) string {
	return "sidecar " + q(sidecar) + " is not injected into a pod on the host network, where the ports it declares would clash with the node's (its hostNetwork setting is auto, which skips sidecars with ports)"
}

// HostNetworkSkipMessage is the sentence for sc left out of a pod on the host network.
func HostNetworkSkipMessage(sc *config.Sidecar) string {
	if sc.HostNetwork == config.HostNetworkAuto {
		return HostNetworkPortsSkip(sc.Name)
	}
	return HostNetworkSkip(sc.Name)
}

// ProblemSeparator joins the clashes of one sidecar in a sentence.
const ProblemSeparator = "; "

// ClashDenial: a mandatory sidecar cannot be injected; problems are its clashes (or its
// template's failure), joined by ProblemSeparator.
func ClashDenial(sidecar, problems string) string {
	return "sidecar " + q(sidecar) + " cannot be injected: " + problems
}

// ClashSkip: as ClashDenial, for a best-effort sidecar, which the pod goes without.
func ClashSkip(sidecar, problems string) string {
	return ClashDenial(sidecar, problems) + " (it is best effort, so the pod goes without it)"
}

// BestEffortLeftOut is what is said of a best-effort sidecar left out by a writer of the
// status annotation that does not keep the details (the compiled policy).
func BestEffortLeftOut(sidecar string) string {
	return "sidecar " + q(sidecar) + " cannot be injected (it is best effort, so the pod goes without it); tandem explain says why"
}

// The clashes, each saying who took the name or port: OwnerPod, SidecarOwner or
// PodContainerOwner.

// ContainerNameTaken: a container name of the sidecar is taken.
func ContainerNameTaken(container, owner string) string {
	return "container name " + q(container) + " is already used by " + owner
}

// VolumeNameTaken: a volume name of the sidecar is taken.
func VolumeNameTaken(volume, owner string) string {
	return "volume name " + q(volume) + " is already used by " + owner
}

// PortTaken: a port ("15001/TCP", see PortName) of a container of the sidecar is taken.
func PortTaken(port, container, owner string) string {
	return "port " + port + " of container " + q(container) + " is already used by " + owner
}

// PortName writes a port as the clashes name it: number/protocol.
func PortName(number int32, protocol string) string {
	return strconv.Itoa(int(number)) + "/" + protocol
}

// OwnerPod says the pod itself took a name.
const OwnerPod = "the pod"

// SidecarOwner says an earlier sidecar took a name or port.
func SidecarOwner(sidecar string) string { return "sidecar " + q(sidecar) }

// PodContainerOwner says a container of the pod took a port.
func PodContainerOwner(container string) string { return "container " + q(container) + " of the pod" }

// Warning is a warning as kubectl prints it: the reason first, so it can be searched for.
func Warning(reason Reason, message string) string { return string(reason) + ": " + message }

func q(s string) string { return strconv.Quote(s) }

// NoLongerConfigured: a pod carries a sidecar the configuration no longer defines.
func NoLongerConfigured(sidecar string) string {
	return "sidecar " + q(sidecar) + " was injected but is no longer in the Tandem config"
}

// OlderDefinition: a pod carries an older definition of the sidecar; changed names the
// parts that differ, "" when the pod's record predates per-part records.
func OlderDefinition(sidecar, changed string) string {
	if changed == "" {
		return "sidecar " + q(sidecar) + " was injected from an older definition (what changed is not recorded: restart to be sure); recreate the pod to get the current one"
	}
	return "sidecar " + q(sidecar) + " was injected from an older definition (changed: " + changed + "); recreate the pod, or run tandem rollout, to get the current one"
}
