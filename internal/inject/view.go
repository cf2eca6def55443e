package inject

import (
	"github.com/go-json-experiment/json"
)

// podView is the part of a pod the engine reads. Everything else in the raw object is
// skipped unread, which is why admission cost does not grow with what the pod carries.
type podView struct {
	Metadata *metaView `json:"metadata"`
	Spec     *specView `json:"spec"`
}

type metaView struct {
	Name         string            `json:"name"`
	GenerateName string            `json:"generateName"`
	Namespace    string            `json:"namespace"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
}

type specView struct {
	Containers       []containerView `json:"containers"`
	InitContainers   []containerView `json:"initContainers"`
	Volumes          []named         `json:"volumes"`
	ImagePullSecrets []named         `json:"imagePullSecrets"`
}

type containerView struct {
	Name         string      `json:"name"`
	Ports        []portView  `json:"ports"`
	Env          []named     `json:"env"`
	VolumeMounts []mountView `json:"volumeMounts"`
}

type portView struct {
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

type mountView struct {
	MountPath string `json:"mountPath"`
}

type named struct {
	Name string `json:"name"`
}

// decodePod reads the view from a pod (or pod template) in JSON.
func decodePod(raw []byte) (*podView, error) {
	var v podView
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
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
