package config

import "maps"

// Placement says where in a pod the parts of a field go.
type Placement uint8

const (
	// InPod: a list of the pod's spec, spec.<key>.
	InPod Placement = iota
	// InEachContainer: a list of each of the pod's own containers, spec.containers[].<key>.
	InEachContainer
	// InMetadata: a map of strings of the pod's metadata, metadata.<key>; a part is named
	// by its key.
	InMetadata
)

// Field describes one field of a sidecar that puts something into a pod. Fields is the
// one list of them: loading, the record, the engine's plan and patch, and the policy
// compiler all loop over it, so that a new field is added there, in SidecarSpec, in
// validation and in the docs, and nowhere else.
type Field struct {
	// Key is the field's key in the sidecar and in the pod: the two use the same types.
	Key string
	// Ident names the field in generated identifiers: the compiled policy's variables
	// are new<Ident> (and all<Ident> for what is merged with the pod's).
	Ident     string
	Placement Placement
	// NameKey is the member that names an item of a list, what it is compared with the
	// pod's items on ("" for a map: the key names it). Names cannot be templates.
	NameKey string
	// Record is the kind of part its items are recorded as (RecordKey).
	Record string
	// Clashes: an item whose name the pod or an earlier sidecar already uses refuses the
	// sidecar (a clash). Otherwise what the pod, or an earlier sidecar, has is kept and
	// the item left out.
	Clashes bool
	// Front: the items go before the pod's own, not after them.
	Front bool
	// Native: the items are containers that become native sidecars (init containers with
	// restartPolicy Always, placed with the init containers) when the sidecar is native.
	Native bool
	// NameOnly: an item is {NameKey: name} and nothing else, and is known by its name
	// alone: recorded and compiled as the name, which is rendered once, at load.
	NameOnly bool
	// record, when set, records a part in several: a container's image and resources
	// apart from the rest, since a running pod accepts changes to them.
	record func(p Part, add func(kind, name string, source any))
}

// The positions in Fields, for the code that treats a field specially (clashes, native
// sidecars, the status annotation) and for tests.
const (
	FieldInitContainers = iota
	FieldContainers
	FieldVolumes
	FieldImagePullSecrets
	FieldEnv
	FieldVolumeMounts
	FieldLabels
	FieldAnnotations
)

// Fields lists what a sidecar adds to a pod, in the order the engine renders and patches
// it: the pod's lists, its containers' lists, then its metadata.
var Fields = [...]Field{
	FieldInitContainers:   {Key: "initContainers", Ident: "InitContainers", Placement: InPod, NameKey: "name", Record: RecordInitContainer, Clashes: true, Front: true},
	FieldContainers:       {Key: "containers", Ident: "Containers", Placement: InPod, NameKey: "name", Record: RecordContainer, Clashes: true, Native: true, record: recordContainer},
	FieldVolumes:          {Key: "volumes", Ident: "Volumes", Placement: InPod, NameKey: "name", Record: RecordVolume, Clashes: true},
	FieldImagePullSecrets: {Key: "imagePullSecrets", Ident: "PullSecrets", Placement: InPod, NameKey: "name", Record: RecordImagePullSecret, NameOnly: true},
	FieldEnv:              {Key: "env", Ident: "Env", Placement: InEachContainer, NameKey: "name", Record: RecordEnv},
	FieldVolumeMounts:     {Key: "volumeMounts", Ident: "Mounts", Placement: InEachContainer, NameKey: "mountPath", Record: RecordVolumeMount},
	FieldLabels:           {Key: "labels", Ident: "Labels", Placement: InMetadata, Record: RecordLabel},
	FieldAnnotations:      {Key: "annotations", Ident: "Annotations", Placement: InMetadata, Record: RecordAnnotation},
}

// FieldParts holds a sidecar's parts field by field, at the field's position in Fields.
type FieldParts [len(Fields)][]Part

// recordContainer records a container in three parts: its image, its resources, and the
// rest of it.
func recordContainer(p Part, add func(kind, name string, source any)) {
	rest, _ := p.Source.(map[string]any)
	rest = maps.Clone(rest)
	image, resources := rest["image"], rest["resources"]
	delete(rest, "image")
	delete(rest, "resources")
	add(RecordContainer, p.Name, rest)
	add(RecordImage, p.Name, image)
	add(RecordResources, p.Name, resources)
}
