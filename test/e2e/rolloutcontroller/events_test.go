package rolloutcontroller

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// eventTimeout bounds how long an event takes to be written after what it reports: the
// recorder writes them in the background.
const eventTimeout = 30 * time.Second

// events lists the events of reason in ns.
func events(t *testing.T, ns, reason string) []corev1.Event {
	t.Helper()
	list, err := client.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("reason", reason).String()})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// occurrences counts events by the UID of the object they are about; an event the
// recorder repeated counts as often as it happened.
func occurrences(evs []corev1.Event) map[types.UID]int {
	n := map[types.UID]int{}
	for _, e := range evs {
		n[e.InvolvedObject.UID] += max(1, int(e.Count))
	}
	return n
}

// waitEvents waits until each of uids has an event of reason in ns, and returns the
// events of reason there.
func waitEvents(t *testing.T, ns, reason string, uids ...types.UID) []corev1.Event {
	t.Helper()
	var evs []corev1.Event
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, eventTimeout, true, func(ctx context.Context) (bool, error) {
		evs = events(t, ns, reason)
		n := occurrences(evs)
		for _, uid := range uids {
			if n[uid] == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("not every one of %v has a %s event in %s within %s: %v; events:\n%s", uids, reason, ns, eventTimeout, err, describeEvents(evs))
	}
	return evs
}

// checkOnce checks that each object of uids has exactly one event of reason in evs, and
// nothing else has any.
func checkOnce(t *testing.T, evs []corev1.Event, reason string, uids map[types.UID]string) {
	t.Helper()
	n := occurrences(evs)
	for uid, name := range uids {
		if n[uid] != 1 {
			t.Errorf("%s has %d %s events, want 1:\n%s", name, n[uid], reason, describeEvents(evs))
		}
	}
	for uid, count := range n {
		if _, ok := uids[uid]; !ok {
			t.Errorf("%d %s events about an object that is none of %v (uid %s):\n%s", count, reason, uids, uid, describeEvents(evs))
		}
	}
}

// podUIDs names pods by UID.
func podUIDs(pods []corev1.Pod) map[types.UID]string {
	m := map[types.UID]string{}
	for _, p := range pods {
		m[p.UID] = "pod " + p.Name
	}
	return m
}

// uids lists the pods' UIDs.
func uids(pods []corev1.Pod) []types.UID {
	var out []types.UID
	for _, p := range pods {
		out = append(out, p.UID)
	}
	return out
}

func describeEvents(evs []corev1.Event) string {
	var lines []string
	for _, e := range evs {
		// Events written through events.k8s.io carry only an event time.
		at := e.LastTimestamp.Time
		if at.IsZero() {
			at = e.EventTime.Time
		}
		lines = append(lines, fmt.Sprintf("  %s %s/%s (uid %s) %s %s x%d from %s/%s: %s", at.Format(time.TimeOnly),
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.InvolvedObject.UID, e.Type, e.Reason, e.Count,
			e.ReportingController, e.Source.Component, e.Message))
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return "  (none)"
	}
	return strings.Join(lines, "\n")
}
