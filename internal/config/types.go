package config

import (
	"regexp"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/internal/tmpl"
)

// KeyPrefix starts every label and annotation key that is Tandem's own: tandem.io/inject,
// tandem.io/status, the knob overrides tandem.io/<sidecar>.<knob>, and the keys on the
// objects Tandem writes. A sidecar may not set one. It is declared here only: the
// configuration is the layer every other package builds on.
const KeyPrefix = "tandem.io/"

// File is the configuration file as a user writes it (docs/configuration.md).
type File struct {
	Sidecars []SidecarSpec `json:"sidecars"`
}

// SidecarSpec is one sidecar as written in the file. Every field but Name is optional.
// Each field that puts something into a pod has its entry in Fields.
type SidecarSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`

	Containers     []corev1.Container `json:"containers,omitempty"`
	InitContainers []corev1.Container `json:"initContainers,omitempty"`
	Volumes        []corev1.Volume    `json:"volumes,omitempty"`
	// Env and VolumeMounts are added to each of the pod's own containers.
	Env              []corev1.EnvVar               `json:"env,omitempty"`
	VolumeMounts     []corev1.VolumeMount          `json:"volumeMounts,omitempty"`
	Labels           map[string]string             `json:"labels,omitempty"`
	Annotations      map[string]string             `json:"annotations,omitempty"`
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	Native        NativeMode            `json:"native,omitempty"`
	FailurePolicy FailurePolicy         `json:"failurePolicy,omitempty"`
	Namespaces    *metav1.LabelSelector `json:"namespaces,omitempty"`
	HostNetwork   HostNetworkMode       `json:"hostNetwork,omitempty"`

	// Values are the knobs templates read as {{ .Values.name }}.
	Values map[string]string `json:"values,omitempty"`
	// Overridable names the knobs a pod may set with a tandem.io/<sidecar>.<knob>
	// annotation, each with a regular expression the whole value must match ("" = any).
	Overridable map[string]string `json:"overridable,omitempty"`
}

// NativeMode says whether a sidecar's containers become native sidecars: init
// containers with restartPolicy Always, which Kubernetes supports from 1.29.
type NativeMode string

const (
	NativeAuto   NativeMode = "auto" // native when the cluster supports it
	NativeAlways NativeMode = "always"
	NativeNever  NativeMode = "never"
)

// HostNetworkMode says what a sidecar does with a pod that uses the node's network
// (spec.hostNetwork): the ports its containers declare would clash with the node's and
// with every other such pod on the node.
type HostNetworkMode string

const (
	// HostNetworkAuto, the default, leaves out a sidecar whose containers declare ports and
	// injects one that declares none (a log shipper, a label): nothing of it can clash.
	HostNetworkAuto   HostNetworkMode = "auto"
	HostNetworkSkip   HostNetworkMode = "skip"   // leave the sidecar out
	HostNetworkInject HostNetworkMode = "inject" // inject it anyway
	HostNetworkDeny   HostNetworkMode = "deny"   // refuse the pod
)

// FailurePolicy says what a problem with a sidecar does to the pod.
type FailurePolicy string

const (
	FailurePolicyFail   FailurePolicy = "fail"   // mandatory: the pod is denied
	FailurePolicyIgnore FailurePolicy = "ignore" // best effort: a warning, the pod goes without it
)

// Config is a loaded, validated and prepared configuration. It is never modified after
// Load, so one Config may serve any number of concurrent admissions.
type Config struct {
	Sidecars []*Sidecar
	byName   map[string]*Sidecar
	// Source names where the config came from, for messages.
	Source string
	// SHA256 is the hex digest of the bytes it was parsed from, so that an operator can
	// tell which version of a file each replica serves (sha256sum prints the same).
	SHA256 string
}

// Sidecar returns the sidecar called name, or nil.
func (c *Config) Sidecar(name string) *Sidecar { return c.byName[name] }

// Names lists the sidecars in config order.
func (c *Config) Names() []string {
	names := make([]string, len(c.Sidecars))
	for i, s := range c.Sidecars {
		names[i] = s.Name
	}
	return names
}

// Sidecar is one prepared sidecar.
type Sidecar struct {
	Name string
	// Index is the sidecar's position in the file: sidecars are injected in this order.
	Index         int
	Native        NativeMode
	FailurePolicy FailurePolicy
	HostNetwork   HostNetworkMode
	// Namespaces selects the namespaces allowed to request the sidecar; nil allows all.
	Namespaces  labels.Selector
	Values      map[string]string
	Overridable map[string]*regexp.Regexp

	// Parts are what the sidecar adds to a pod, field by field (Fields): each part named
	// by its field's NameKey (a container's name, a mount's path) or, in a map, its key.
	Parts FieldParts

	// DeclaresPorts is true when a container or init container of the sidecar declares a
	// port (ports cannot be templates, so this is known at load).
	DeclaresPorts bool

	// Record lists what the sidecar puts into a pod, part by part, sorted by key: the
	// status annotation records it, so that what changed since a pod was injected can be
	// named, and whether a running pod accepts the change.
	Record []RecordPart
	// Hash identifies what the sidecar puts into a pod: its record's parts together.
	Hash string
	// LegacyHash is what status annotations recorded before they held the parts: a hash of
	// the whole definition as written, description included.
	LegacyHash string
}

// OnHostNetwork is what becomes of the sidecar for a pod on the node's network: skip,
// inject or deny, its auto setting resolved.
func (s *Sidecar) OnHostNetwork() HostNetworkMode {
	if s.HostNetwork != HostNetworkAuto {
		return s.HostNetwork
	}
	if s.DeclaresPorts {
		return HostNetworkSkip
	}
	return HostNetworkInject
}

// Part is one thing a sidecar adds: its name (what clashes are checked on), the ports it
// declares (containers only) and its JSON, ready to render.
type Part struct {
	Name  string
	Ports []Port
	JSON  *tmpl.JSON
	// Source is the part as the file wrote it, decoded (numbers as json.Number), its
	// templates unparsed: what a compiler to another form starts from.
	Source any
}

// Port is a container port as clashes are checked: number and protocol.
type Port struct {
	Number   int32
	Protocol corev1.Protocol
}
