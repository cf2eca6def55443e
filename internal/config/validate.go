package config

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateSidecar checks one decoded sidecar. templated holds the fields whose strings
// are templates; names must not be among them, since clashes are checked before rendering.
func validateSidecar(s *SidecarSpec, templated map[string]bool) field.ErrorList {
	var errs field.ErrorList
	static := func(p *field.Path) {
		if templated[p.String()] {
			errs = append(errs, field.Forbidden(p, "must not be a template: Tandem checks names for clashes before rendering"))
		}
	}
	name := field.NewPath("name")
	static(name)
	errs = append(errs, dnsLabel(name, s.Name)...)
	if s.Name == "true" || s.Name == "false" {
		errs = append(errs, field.Invalid(name, s.Name, `"true" and "false" are reserved values of tandem.io/inject`))
	}
	switch s.Native {
	case "", NativeAuto, NativeAlways, NativeNever:
	default:
		errs = append(errs, field.NotSupported(field.NewPath("native"), s.Native, []string{"auto", "always", "never"}))
	}
	switch s.FailurePolicy {
	case "", FailurePolicyFail, FailurePolicyIgnore:
	default:
		errs = append(errs, field.NotSupported(field.NewPath("failurePolicy"), s.FailurePolicy, []string{"fail", "ignore"}))
	}
	switch s.HostNetwork {
	case "", HostNetworkAuto, HostNetworkSkip, HostNetworkInject, HostNetworkDeny:
	default:
		errs = append(errs, field.NotSupported(field.NewPath("hostNetwork"), s.HostNetwork, []string{"auto", "skip", "inject", "deny"}))
	}
	if s.Namespaces != nil {
		if _, err := metav1.LabelSelectorAsSelector(s.Namespaces); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("namespaces"), s.Namespaces, err.Error()))
		}
	}
	containerNames := sets.New[string]()
	errs = append(errs, validateContainers(field.NewPath("containers"), s.Containers, containerNames, static)...)
	errs = append(errs, validateContainers(field.NewPath("initContainers"), s.InitContainers, containerNames, static)...)
	volumes := sets.New[string]()
	for i, v := range s.Volumes {
		p := field.NewPath("volumes").Index(i).Child("name")
		static(p)
		errs = append(errs, dnsLabel(p, v.Name)...)
		if volumes.Has(v.Name) {
			errs = append(errs, field.Duplicate(p, v.Name))
		}
		volumes.Insert(v.Name)
	}
	errs = append(errs, validateEnv(field.NewPath("env"), s.Env, static)...)
	errs = append(errs, validateAppMounts(field.NewPath("volumeMounts"), s.VolumeMounts, volumes, static)...)
	errs = append(errs, validateKeys(field.NewPath("labels"), s.Labels, true, templated)...)
	errs = append(errs, validateKeys(field.NewPath("annotations"), s.Annotations, false, templated)...)
	for i, ref := range s.ImagePullSecrets {
		errs = append(errs, dnsSubdomain(field.NewPath("imagePullSecrets").Index(i).Child("name"), ref.Name)...)
	}
	errs = append(errs, validateKnobs(s)...)
	return errs
}

func validateContainers(path *field.Path, cs []corev1.Container, names sets.Set[string], static func(*field.Path)) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cs {
		p := path.Index(i)
		static(p.Child("name"))
		errs = append(errs, dnsLabel(p.Child("name"), c.Name)...)
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		}
		names.Insert(c.Name)
		if c.Image == "" {
			errs = append(errs, field.Required(p.Child("image"), "every container needs an image"))
		}
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "set the sidecar's native: always|never|auto instead"))
		}
		for j, port := range c.Ports {
			pp := p.Child("ports").Index(j)
			static(pp.Child("containerPort"))
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(pp.Child("containerPort"), port.ContainerPort, msg))
			}
			switch port.Protocol {
			case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
			default:
				errs = append(errs, field.NotSupported(pp.Child("protocol"), port.Protocol, []string{"TCP", "UDP", "SCTP"}))
			}
			if port.Name != "" {
				for _, msg := range validation.IsValidPortName(port.Name) {
					errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
				}
			}
		}
		errs = append(errs, validateEnv(p.Child("env"), c.Env, static)...)
		for j, m := range c.VolumeMounts {
			mp := p.Child("volumeMounts").Index(j)
			if m.Name == "" {
				errs = append(errs, field.Required(mp.Child("name"), "the volume to mount"))
			}
			if m.MountPath == "" {
				errs = append(errs, field.Required(mp.Child("mountPath"), "where to mount it"))
			}
		}
	}
	return errs
}

func validateEnv(path *field.Path, env []corev1.EnvVar, static func(*field.Path)) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, e := range env {
		p := path.Index(i).Child("name")
		static(p)
		for _, msg := range validation.IsEnvVarName(e.Name) {
			errs = append(errs, field.Invalid(p, e.Name, msg))
		}
		if seen.Has(e.Name) {
			errs = append(errs, field.Duplicate(p, e.Name))
		}
		seen.Insert(e.Name)
	}
	return errs
}

// validateAppMounts checks the mounts added to the pod's own containers: each must name
// one of the sidecar's volumes, since Tandem cannot know what volumes a pod will have.
func validateAppMounts(path *field.Path, mounts []corev1.VolumeMount, volumes sets.Set[string], static func(*field.Path)) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	for i, m := range mounts {
		p := path.Index(i)
		static(p.Child("mountPath"))
		if !volumes.Has(m.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), m.Name, "must name one of this sidecar's volumes"))
		}
		if !strings.HasPrefix(m.MountPath, "/") {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be an absolute path"))
		}
		if paths.Has(m.MountPath) {
			errs = append(errs, field.Duplicate(p.Child("mountPath"), m.MountPath))
		}
		paths.Insert(m.MountPath)
	}
	return errs
}

func validateKeys(path *field.Path, m map[string]string, isLabel bool, templated map[string]bool) field.ErrorList {
	var errs field.ErrorList
	for k, v := range m {
		p := path.Key(k)
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p, k, msg))
		}
		if strings.HasPrefix(k, KeyPrefix) {
			errs = append(errs, field.Invalid(p, k, "the "+KeyPrefix+" prefix is Tandem's own"))
		}
		if isLabel && !templated[JoinField(path.String(), k)] {
			for _, msg := range validation.IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(p, v, msg))
			}
		}
	}
	return errs
}

// maxKnobKey bounds "<sidecar>.<knob>", the name part of the annotation a pod overrides
// a knob with; Kubernetes allows 63 characters there.
const maxKnobKey = 63

// knobName is what may follow "tandem.io/<sidecar>." in an annotation key.
var knobName = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$`)

func validateKnobs(s *SidecarSpec) field.ErrorList {
	var errs field.ErrorList
	for k := range s.Values {
		if !knobName.MatchString(k) {
			errs = append(errs, field.Invalid(field.NewPath("values").Key(k), k, "a knob name is letters, digits, '-' and '_', starting and ending with a letter or digit"))
		}
	}
	for k, pattern := range s.Overridable {
		p := field.NewPath("overridable").Key(k)
		if _, ok := s.Values[k]; !ok {
			errs = append(errs, field.Invalid(p, k, "an overridable knob needs a default in values"))
		}
		if annotation := s.Name + "." + k; len(annotation) > maxKnobKey {
			errs = append(errs, field.Invalid(p, k, fmt.Sprintf("the annotation key name %q is longer than %d characters", annotation, maxKnobKey)))
		}
		if _, err := regexp.Compile(anchor(pattern)); err != nil {
			errs = append(errs, field.Invalid(p, pattern, fmt.Sprintf("not a regular expression: %v", err)))
		}
	}
	return errs
}

func dnsLabel(p *field.Path, v string) field.ErrorList {
	return check(p, v, validation.IsDNS1123Label)
}

func dnsSubdomain(p *field.Path, v string) field.ErrorList {
	return check(p, v, validation.IsDNS1123Subdomain)
}

// check requires a value and reports each of the validator's complaints about it.
func check(p *field.Path, v string, validate func(string) []string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range validate(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
