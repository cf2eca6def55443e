package inject

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/tandem-io/tandem/internal/config"
	"github.com/tandem-io/tandem/internal/jsonscan"
)

// podView is the part of a pod the engine reads. Everything else in the raw object is
// skipped unread, which is why admission cost barely grows with what the pod carries.
// Its strings alias the raw bytes: a view must not outlive them.
type podView struct {
	Metadata *metaView
	Spec     *specView

	// What Metadata and Spec point to when set. A view read into again keeps the memory
	// of the last pod (slices, maps), so a server that reads a pod per request with one
	// view allocates next to nothing.
	meta metaView
	spec specView
}

type metaView struct {
	Name, GenerateName, Namespace string
	Labels, Annotations           map[string]string
}

type specView struct {
	Containers     []containerView
	InitContainers []containerView
	// Names holds, at the position of each field of config.Fields placed in the pod's own
	// lists, the names of the pod's items: its volumes, its pull secrets.
	Names       [len(config.Fields)][]string
	HostNetwork bool
}

type containerView struct {
	Name  string
	Ports []portView
	// Names holds, at the position of each field of config.Fields placed in every
	// container, the names of the container's items: env names, mount paths.
	Names [len(config.Fields)][]string
}

type portView struct {
	ContainerPort int32
	Protocol      string
}

// decodePod reads the view from a pod (or pod template) in JSON. Every field it reads is
// checked; a wrong type is an error naming the field.
func decodePod(raw []byte) (*podView, error) {
	s := jsonscan.New(raw)
	v := &podView{}
	if err := v.read(s); err != nil {
		return nil, err
	}
	return v, s.End()
}

// read reads the view from the pod at the scanner's position and leaves the scanner
// after the pod, also when the pod has a field of the wrong type. It reuses the memory of
// the pod read before.
func (v *podView) read(s *jsonscan.Scanner) error {
	d := viewDecoder{s: s}
	start := s.Offset()
	v.Metadata, v.Spec = nil, nil
	if s.Peek() != '{' {
		s.Skip()
		if s.Err() != nil {
			return s.Err()
		}
		return fmt.Errorf("the pod must be an object")
	}
	d.object("the pod")
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		switch string(key) {
		case "metadata":
			v.Metadata = d.meta(&v.meta)
		case "spec":
			v.Spec = d.spec(&v.spec)
		default:
			d.s.Skip()
		}
	}
	if d.shape != nil {
		s.Rewind(start) // reading stopped inside the pod: step over all of it
		s.Skip()
	}
	return d.err()
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

// boolean reads true or false; null is false, as it is for Kubernetes.
func (d *viewDecoder) boolean(field string) bool {
	switch d.s.Peek() {
	case 't':
		d.s.Skip()
		return d.s.Err() == nil
	case 'f', 'n':
		d.s.Skip()
	default:
		d.wrong(field, "", "a boolean")
	}
	return false
}

func (d *viewDecoder) meta(m *metaView) *metaView {
	if !d.object("metadata") {
		return nil
	}
	*m = metaView{Labels: m.Labels, Annotations: m.Annotations}
	labels, annotations := false, false
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		switch string(key) {
		case "name":
			m.Name = d.str("metadata.name", "")
		case "generateName":
			m.GenerateName = d.str("metadata.generateName", "")
		case "namespace":
			m.Namespace = d.str("metadata.namespace", "")
		case "labels":
			m.Labels, labels = d.strMap("metadata.labels", m.Labels)
		case "annotations":
			m.Annotations, annotations = d.strMap("metadata.annotations", m.Annotations)
		default:
			d.s.Skip()
		}
	}
	// A pod without labels gets an empty map, which every reader treats as nil (lookups,
	// len); its memory is kept for the next pod.
	if !labels {
		clear(m.Labels)
	}
	if !annotations {
		clear(m.Annotations)
	}
	return m
}

// strMap reads a map of strings into m, emptied first (or a new map), and reports
// whether there was one (not null).
func (d *viewDecoder) strMap(field string, m map[string]string) (map[string]string, bool) {
	if !d.object(field) {
		clear(m)
		return m, false
	}
	if m == nil {
		m = map[string]string{}
	}
	clear(m)
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		if c := d.s.Peek(); c != '"' && c != 'n' {
			// Name the key, so that the user finds the value among the others; the
			// path is built on this error path only.
			d.wrong(config.JoinField(field, string(key)), "", "a string")
			continue
		}
		// Like every string of the view, the key aliases the raw pod.
		m[unsafe.String(unsafe.SliceData(key), len(key))] = d.str(field, "[]")
	}
	return m, true
}

func (d *viewDecoder) spec(s *specView) *specView {
	if !d.object("spec") {
		return nil
	}
	*s = specView{Containers: s.Containers[:0], InitContainers: s.InitContainers[:0], Names: emptiedNames(s.Names)}
	for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
		switch string(key) {
		case "containers":
			s.Containers = d.containers(&containersFields, s.Containers)
		case "initContainers":
			s.InitContainers = d.containers(&initContainersFields, s.InitContainers)
		case "hostNetwork":
			s.HostNetwork = d.boolean("spec.hostNetwork")
		default:
			if l := findList(podLists, key); l != nil {
				s.Names[l.at] = d.names(l.field, l.nameKey, l.suffix, s.Names[l.at])
			} else {
				d.s.Skip()
			}
		}
	}
	return s
}

// containerFields name a container list and its members in errors, spelled out so that
// reading a container builds no strings.
type containerFields struct {
	list, ports string
	lists       []listField
}

var (
	containersFields     = containerFields{"spec.containers", "spec.containers[].ports", containerLists}
	initContainersFields = containerFields{"spec.initContainers", "spec.initContainers[].ports", initContainerLists}
)

// containers reads a list of containers into out[:0], reusing the memory of the
// containers out held before.
func (d *viewDecoder) containers(f *containerFields, out []containerView) []containerView {
	field := f.list
	out = out[:0]
	if !d.array(field) {
		return out
	}
	for d.s.NextElement() && d.ok() {
		// A null container is an error, not one to leave out: the API server reads it as
		// an empty container, so every index after it would be off by one in the patch,
		// and no patch can add a member to it.
		if d.s.Peek() != '{' {
			d.wrong(field, "[]", "an object")
			continue
		}
		d.s.BeginObject()
		out = slices.Grow(out, 1)[:len(out)+1]
		c := &out[len(out)-1]
		*c = containerView{Ports: c.Ports[:0], Names: emptiedNames(c.Names)}
		for key, ok := d.s.NextKey(); ok && d.ok(); key, ok = d.s.NextKey() {
			switch string(key) {
			case "name":
				c.Name = d.str(field, "[].name")
			case "ports":
				c.Ports = d.ports(f.ports, c.Ports)
			default:
				if l := findList(f.lists, key); l != nil {
					c.Names[l.at] = d.names(l.field, l.nameKey, l.suffix, c.Names[l.at])
				} else {
					d.s.Skip()
				}
			}
		}
	}
	return out
}

func (d *viewDecoder) ports(field string, out []portView) []portView {
	out = out[:0]
	if !d.array(field) {
		return out
	}
	for d.s.NextElement() && d.ok() {
		var p portView
		if null := d.s.Peek() == 'n'; !d.objectAt(field, "[]") {
			if null { // an empty port, as the API server reads it
				out = append(out, p)
			}
			continue
		}
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
func (d *viewDecoder) names(field, key, suffix string, out []string) []string {
	out = out[:0]
	if !d.array(field) {
		return out
	}
	for d.s.NextElement() && d.ok() {
		switch d.s.Peek() {
		case '{':
		case 'n': // an empty element, as the API server reads it: appends go after it
			d.s.Null()
			out = append(out, "")
			continue
		default:
			d.wrong(field, "[]", "an object")
			continue
		}
		name, first := d.s.StringMember(key)
		if first != 0 && first != '"' && first != 'n' && d.shape == nil {
			d.shape = fmt.Errorf("%s%s must be a string", field, suffix)
		}
		out = append(out, name)
	}
	return out
}
