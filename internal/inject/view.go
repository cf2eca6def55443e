package inject

import (
	"fmt"
	"unsafe"

	"github.com/tandem-io/tandem/internal/jsonscan"
)

// podView is the part of a pod the engine reads. Everything else in the raw object is
// skipped unread, which is why admission cost barely grows with what the pod carries.
// Its strings alias the raw bytes: a view must not outlive them.
type podView struct {
	Metadata *metaView
	Spec     *specView
}

type metaView struct {
	Name, GenerateName, Namespace string
	Labels, Annotations           map[string]string
}

type specView struct {
	Containers       []containerView
	InitContainers   []containerView
	Volumes          []string // names
	ImagePullSecrets []string // names
}

type containerView struct {
	Name         string
	Ports        []portView
	Env          []string // names
	VolumeMounts []string // mount paths
}

type portView struct {
	ContainerPort int32
	Protocol      string
}

// decodePod reads the view from a pod (or pod template) in JSON. Every field it reads is
// checked; a wrong type is an error naming the field.
func decodePod(raw []byte) (*podView, error) {
	s := jsonscan.New(raw)
	v, err := readView(s)
	if err != nil {
		return nil, err
	}
	return v, s.End()
}

// readView reads the view from the pod at the scanner's position and leaves the scanner
// after the pod, also when the pod has a field of the wrong type.
func readView(s *jsonscan.Scanner) (*podView, error) {
	d := viewDecoder{s: s}
	start := s.Offset()
	v := &podView{}
	if s.Peek() != '{' {
		s.Skip()
		if s.Err() != nil {
			return nil, s.Err()
		}
		return nil, fmt.Errorf("the pod must be an object")
	}
	d.object("the pod")
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		switch string(key) {
		case "metadata":
			v.Metadata = d.meta()
		case "spec":
			v.Spec = d.spec()
		default:
			d.s.Skip()
		}
	}
	if d.shape != nil {
		s.Rewind(start) // reading stopped inside the pod: step over all of it
		s.Skip()
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return v, nil
}

// viewDecoder reads the view's fields; the first wrong type it meets is kept in shape.
type viewDecoder struct {
	s     *jsonscan.Scanner
	shape error
}

func (d *viewDecoder) err() error {
	if d.shape != nil {
		return d.shape
	}
	return d.s.Err()
}

func (d *viewDecoder) ok() bool { return d.shape == nil && d.s.Err() == nil }

// wrong records that field holds something other than want. The field name comes in two
// parts, joined only here, so that the happy path builds no strings.
func (d *viewDecoder) wrong(field, suffix, want string) {
	if d.shape == nil {
		d.shape = fmt.Errorf("%s%s must be %s", field, suffix, want)
	}
	d.s.Skip()
}

// object begins an object, or reports false for null (skipped) or a wrong type.
func (d *viewDecoder) object(field string) bool { return d.objectAt(field, "") }

func (d *viewDecoder) objectAt(field, suffix string) bool {
	switch d.s.Peek() {
	case '{':
		return d.s.BeginObject()
	case 'n':
		d.s.Null()
	default:
		d.wrong(field, suffix, "an object")
	}
	return false
}

// array begins an array, or reports false for null (skipped) or a wrong type.
func (d *viewDecoder) array(field string) bool {
	switch d.s.Peek() {
	case '[':
		return d.s.BeginArray()
	case 'n':
		d.s.Null()
	default:
		d.wrong(field, "", "a list")
	}
	return false
}

func (d *viewDecoder) str(field, suffix string) string {
	switch d.s.Peek() {
	case '"':
		return d.s.String()
	case 'n':
		d.s.Null()
	default:
		d.wrong(field, suffix, "a string")
	}
	return ""
}

func (d *viewDecoder) meta() *metaView {
	if !d.object("metadata") {
		return nil
	}
	m := &metaView{}
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		switch string(key) {
		case "name":
			m.Name = d.str("metadata.name", "")
		case "generateName":
			m.GenerateName = d.str("metadata.generateName", "")
		case "namespace":
			m.Namespace = d.str("metadata.namespace", "")
		case "labels":
			m.Labels = d.strMap("metadata.labels")
		case "annotations":
			m.Annotations = d.strMap("metadata.annotations")
		default:
			d.s.Skip()
		}
	}
	return m
}

func (d *viewDecoder) strMap(field string) map[string]string {
	if !d.object(field) {
		return nil
	}
	m := map[string]string{}
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		// Like every string of the view, the key aliases the raw pod.
		m[unsafe.String(unsafe.SliceData(key), len(key))] = d.str(field, "[]")
	}
	return m
}

func (d *viewDecoder) spec() *specView {
	if !d.object("spec") {
		return nil
	}
	s := &specView{}
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		switch string(key) {
		case "containers":
			s.Containers = d.containers("spec.containers")
		case "initContainers":
			s.InitContainers = d.containers("spec.initContainers")
		case "volumes":
			s.Volumes = d.names("spec.volumes", "name", "[].name")
		case "imagePullSecrets":
			s.ImagePullSecrets = d.names("spec.imagePullSecrets", "name", "[].name")
		default:
			d.s.Skip()
		}
	}
	return s
}

func (d *viewDecoder) containers(field string) []containerView {
	if !d.array(field) {
		return nil
	}
	var out []containerView
	for d.s.NextElement() && d.ok() {
		if !d.objectAt(field, "[]") {
			continue
		}
		var c containerView
		for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
			switch string(key) {
			case "name":
				c.Name = d.str(field, "[].name")
			case "ports":
				c.Ports = d.ports(field + "[].ports")
			case "env":
				c.Env = d.names(field+"[].env", "name", "[].name")
			case "volumeMounts":
				c.VolumeMounts = d.names(field+"[].volumeMounts", "mountPath", "[].mountPath")
			default:
				d.s.Skip()
			}
		}
		out = append(out, c)
	}
	return out
}

func (d *viewDecoder) ports(field string) []portView {
	if !d.array(field) {
		return nil
	}
	var out []portView
	for d.s.NextElement() && d.ok() {
		if !d.objectAt(field, "[]") {
			continue
		}
		var p portView
		for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
			switch string(key) {
			case "containerPort":
				if c := d.s.Peek(); c != '-' && (c < '0' || c > '9') {
					d.wrong(field, "[].containerPort", "an integer")
					continue
				}
				n := d.s.Int()
				if n != int64(int32(n)) {
					d.wrong(field, "[].containerPort", "a 32-bit integer")
				}
				p.ContainerPort = int32(n)
			case "protocol":
				p.Protocol = d.str(field, "[].protocol")
			default:
				d.s.Skip()
			}
		}
		out = append(out, p)
	}
	return out
}

// names reads one string member (key) of each object in a list: env names, mount paths.
// suffix is "[]."+key, spelled out by callers so that no string is built per element.
func (d *viewDecoder) names(field, key, suffix string) []string {
	if !d.array(field) {
		return nil
	}
	var out []string
	for d.s.NextElement() && d.ok() {
		if !d.objectAt(field, "[]") {
			continue
		}
		name := ""
		for k, ok := d.s.NextKey(); ok && d.ok(); k, ok = d.s.NextKey() {
			if string(k) == key {
				name = d.str(field, suffix)
			} else {
				d.s.Skip()
			}
		}
		out = append(out, name)
	}
	return out
}

func (v *podView) labels() map[string]string {
	if v.Metadata == nil {
		return nil
	}
	return v.Metadata.Labels
}

func (v *podView) annotations() map[string]string {
	if v.Metadata == nil {
		return nil
	}
	return v.Metadata.Annotations
}
