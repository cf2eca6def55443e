package selfcert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// An emergency rotation is asked for by writing a new value into AnnotationRotate on the
// Secret; the replica that carries it out copies the value into AnnotationRotated in the
// same write. The Secret carries the request, rather than a command writing new
// certificates itself, so that the replicas make the new ones with their own policy
// (hosts, lifetimes), and a request needs nothing but `kubectl annotate`.
const (
	AnnotationRotate  = "tandem.io/rotate-ca"
	AnnotationRotated = "tandem.io/rotated-ca"
)

// pendingRotation is the emergency rotation asked for on s and not yet carried out, or "".
func pendingRotation(s *corev1.Secret) string {
	if request := s.Annotations[AnnotationRotate]; request != s.Annotations[AnnotationRotated] {
		return request
	}
	return ""
}

// RequestRotation asks the replicas keeping the Secret namespace/name to discard its CA
// and key, and every certificate they signed, at once. It returns the request, for
// WaitRotated, and the CA being discarded.
func RequestRotation(ctx context.Context, client kubernetes.Interface, namespace, name string, now time.Time) (request string, old []byte, err error) {
	secrets := client.CoreV1().Secrets(namespace)
	request = now.UTC().Format(time.RFC3339Nano)
	for range attempts {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", nil, fmt.Errorf("the Secret %s/%s not found: nothing to rotate (is it the one tandem serve --certificate-secret names?)", namespace, name)
		}
		if err != nil {
			return "", nil, fmt.Errorf("the Secret %s/%s: %w", namespace, name, err)
		}
		// Naming the version read ties the CA reported as discarded to the request.
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{AnnotationRotate: request}, "resourceVersion": s.ResourceVersion,
		}})
		if err != nil {
			return "", nil, err
		}
		_, err = secrets.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("the Secret %s/%s: %w", namespace, name, err)
		}
		return request, s.Data[KeyCA], nil
	}
	return "", nil, fmt.Errorf("the Secret %s/%s: still conflicting after %d attempts", namespace, name, attempts)
}

// WaitRotated waits until a replica has carried out request on the Secret and every entry
// of the webhook configuration trusts the new CA and no longer the old one, polling every
// interval. It returns the new CA.
func WaitRotated(ctx context.Context, client kubernetes.Interface, namespace, name, webhookConfiguration, request string, old []byte, interval time.Duration) ([]byte, error) {
	var current []byte
	state := "no replica has taken the request (are replicas running with --certificates self and this Secret?)"
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		s, err := client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil || s.Annotations[AnnotationRotated] != request {
			return false, nil
		}
		current = s.Data[KeyCA]
		state = "the Secret holds a new CA, but the caBundle of " + webhookConfiguration + " does not yet trust only it"
		cfg, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, webhookConfiguration, metav1.GetOptions{})
		if err != nil {
			state = "the Secret holds a new CA, but the webhook configuration cannot be read: " + err.Error()
			return false, nil
		}
		newCA, err := parseCert(current)
		if err != nil {
			return false, nil
		}
		oldCA, oldErr := parseCert(old)
		for _, bundle := range caBundles(cfg) {
			if !holds(bundle, newCA) || oldErr == nil && holds(bundle, oldCA) {
				return false, nil
			}
		}
		return len(cfg.Webhooks) > 0 && !bytes.Equal(current, old), nil
	})
	if err != nil {
		return nil, fmt.Errorf("emergency rotation %s not complete: %s: %w", request, state, err)
	}
	return current, nil
}
