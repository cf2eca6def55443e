package main

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tandem-io/tandem/internal/config"
)

// The installed Tandem's configuration: the chart's ConfigMap, labelled with the chart's
// name, holds it under this key.
const (
	servedConfigLabel = "app.kubernetes.io/name=tandem"
	servedConfigKey   = "config.yaml"
)

// rolloutConfig loads path, or without one the configuration the installed Tandem
// serves, from its ConfigMap in namespace.
func rolloutConfig(ctx context.Context, client kubernetes.Interface, path, namespace string) (*config.Config, error) {
	if path != "" {
		return loadConfig(path)
	}
	return servedConfig(ctx, client, namespace)
}

// servedConfig reads the one ConfigMap of namespace that is labelled as Tandem's and
// holds a configuration.
func servedConfig(ctx context.Context, client kubernetes.Interface, namespace string) (*config.Config, error) {
	list, err := client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: servedConfigLabel})
	if err != nil {
		return nil, fmt.Errorf("reading the installed Tandem's configuration from namespace %s: %w (give --config FILE)", namespace, err)
	}
	var names []string
	var data, source string
	for _, cm := range list.Items {
		if v, ok := cm.Data[servedConfigKey]; ok {
			names = append(names, cm.Name)
			data, source = v, fmt.Sprintf("ConfigMap %s/%s", namespace, cm.Name)
		}
	}
	switch len(names) {
	case 0:
		return nil, fmt.Errorf("no ConfigMap labelled %s with a %s in namespace %s: is Tandem installed there? Give --tandem-namespace, or --config FILE", servedConfigLabel, servedConfigKey, namespace)
	case 1:
		return config.Parse([]byte(data), source)
	}
	return nil, fmt.Errorf("several ConfigMaps labelled %s hold a %s in namespace %s (%s): give --config FILE", servedConfigLabel, servedConfigKey, namespace, strings.Join(names, ", "))
}
