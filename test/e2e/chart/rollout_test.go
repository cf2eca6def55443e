package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The rights each setting grants, as grants() writes them.
var (
	baseClusterGrants = []string{
		"namespaces get", "namespaces list", "namespaces watch",
		"mutatingwebhookconfigurations.admissionregistration.k8s.io get tandem",
		"mutatingwebhookconfigurations.admissionregistration.k8s.io list tandem",
		"mutatingwebhookconfigurations.admissionregistration.k8s.io update tandem",
		"mutatingwebhookconfigurations.admissionregistration.k8s.io watch tandem",
	}
	auditClusterGrants   = []string{"pods list", "pods watch"}
	rolloutClusterGrants = []string{
		"pods get", "pods list", "pods watch", "pods patch",
		"pods/resize patch",
		"events create", "events patch", "events list",
		"replicasets.apps get", "deployments.apps get", "statefulsets.apps get", "daemonsets.apps get",
		"replicationcontrollers get",
		"jobs.batch get", "cronjobs.batch get",
	}
	restartClusterGrants = []string{
		"deployments.apps patch", "statefulsets.apps patch", "daemonsets.apps patch",
		"pods/eviction create",
	}
	secretGrants = []string{
		"secrets create",
		"secrets get tandem-certs", "secrets list tandem-certs", "secrets update tandem-certs", "secrets watch tandem-certs",
	}
	leaseGrants = []string{
		"leases.coordination.k8s.io create",
		"leases.coordination.k8s.io get tandem-audit", "leases.coordination.k8s.io update tandem-audit",
	}
)

// The rollout controller's rights exist only with rollout.enabled, its owners' patch and
// pods' eviction only with restart or missing too, and the Lease with the audit or the
// rollout; its arguments are passed as the values say, --audit-lease once.
func TestRolloutRBACAndArgs(t *testing.T) {
	const lease = "--audit-lease=tandem-system/tandem-audit"
	rolloutArgs := func(inPlace, restart, missing bool, max, interval, timeout string) []string {
		return []string{lease, "--rollout",
			fmt.Sprintf("--rollout-in-place=%t", inPlace), fmt.Sprintf("--rollout-restart=%t", restart), fmt.Sprintf("--rollout-missing=%t", missing),
			"--rollout-max-unavailable=" + max, "--rollout-interval=" + interval, "--rollout-timeout=" + timeout}
	}
	defaults := rolloutArgs(true, false, false, "1", "30s", "5m")
	cases := []struct {
		name    string
		set     string
		cluster [][]string
		role    [][]string // nil: no Role
		args    []string   // the --rollout* and --audit-lease arguments
	}{
		{"rollout off", "", [][]string{baseClusterGrants}, [][]string{secretGrants}, nil},
		{"rollout off, restart and missing set", "rollout.restart=true,rollout.missing=true",
			[][]string{baseClusterGrants}, [][]string{secretGrants}, nil},
		{"rollout off, the audit on", "audit.enabled=true",
			[][]string{baseClusterGrants, auditClusterGrants}, [][]string{secretGrants, leaseGrants}, []string{lease}},
		{"rollout on", "rollout.enabled=true",
			[][]string{baseClusterGrants, rolloutClusterGrants}, [][]string{secretGrants, leaseGrants}, defaults},
		{"rollout and the audit on", "rollout.enabled=true,audit.enabled=true",
			[][]string{baseClusterGrants, rolloutClusterGrants}, [][]string{secretGrants, leaseGrants}, defaults},
		{"rollout on, restart", "rollout.enabled=true,rollout.restart=true",
			[][]string{baseClusterGrants, rolloutClusterGrants, restartClusterGrants}, [][]string{secretGrants, leaseGrants},
			rolloutArgs(true, true, false, "1", "30s", "5m")},
		{"rollout on, missing", "rollout.enabled=true,rollout.missing=true",
			[][]string{baseClusterGrants, rolloutClusterGrants, restartClusterGrants}, [][]string{secretGrants, leaseGrants},
			rolloutArgs(true, false, true, "1", "30s", "5m")},
		{"rollout on, every value given", "rollout.enabled=true,rollout.inPlace=false,rollout.maxUnavailable=25%,rollout.interval=1m,rollout.timeout=10m",
			[][]string{baseClusterGrants, rolloutClusterGrants}, [][]string{secretGrants, leaseGrants},
			rolloutArgs(false, false, false, "25%", "1m", "10m")},
		// Without self-managed certificates, the Role holds the Lease alone.
		{"rollout on, certificates from cert-manager", "rollout.enabled=true,certificates.mode=cert-manager",
			[][]string{{"namespaces get", "namespaces list", "namespaces watch"}, rolloutClusterGrants}, [][]string{leaseGrants}, defaults},
		{"rollout off, certificates from cert-manager", "certificates.mode=cert-manager",
			[][]string{{"namespaces get", "namespaces list", "namespaces watch"}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			if c.set != "" {
				args = []string{"--set", c.set}
			}
			objs := objects(t, render(t, args...))
			cr := only[rbacv1.ClusterRole](t, objs, "ClusterRole")
			if diff := cmp.Diff(union(c.cluster...), grants(cr.Rules)); diff != "" {
				t.Errorf("the ClusterRole's rights (-want +got):\n%s", diff)
			}
			roles := all[rbacv1.Role](t, objs, "Role")
			switch {
			case c.role == nil && len(roles) > 0:
				t.Errorf("the render has a Role, granting %v", grants(roles[0].Rules))
			case c.role != nil && len(roles) != 1:
				t.Errorf("the render has %d Roles, want 1", len(roles))
			case c.role != nil:
				if diff := cmp.Diff(union(c.role...), grants(roles[0].Rules)); diff != "" {
					t.Errorf("the Role's rights (-want +got):\n%s", diff)
				}
			}
			var got []string
			for _, a := range serveArgs(t, objs) {
				if strings.HasPrefix(a, "--rollout") || strings.HasPrefix(a, "--audit-lease") {
					got = append(got, a)
				}
			}
			if diff := cmp.Diff(c.args, got); diff != "" {
				t.Errorf("tandem serve's --rollout and --audit-lease arguments (-want +got):\n%s", diff)
			}
		})
	}
}

// rollout.paused annotates the Deployment itself, and changes nothing else of it: its
// pod template stays the same, so pausing or resuming restarts no replica. Without
// rollout.enabled it annotates nothing.
func TestRolloutPaused(t *testing.T) {
	deployment := func(set string) *appsv1.Deployment {
		return only[appsv1.Deployment](t, objects(t, render(t, "--set", set)), "Deployment")
	}
	running := deployment("rollout.enabled=true")
	paused := deployment("rollout.enabled=true,rollout.paused=true")
	if diff := cmp.Diff(map[string]string{"tandem.io/rollout": "paused"}, paused.Annotations); diff != "" {
		t.Errorf("the paused Deployment's annotations (-want +got):\n%s", diff)
	}
	if len(running.Annotations) != 0 {
		t.Errorf("the running Deployment has annotations %v, want none", running.Annotations)
	}
	if diff := cmp.Diff(running.Spec, paused.Spec); diff != "" {
		t.Errorf("pausing changes the Deployment's spec, which restarts its pods (-running +paused):\n%s", diff)
	}
	if a := deployment("rollout.paused=true").Annotations; len(a) != 0 {
		t.Errorf("rollout.paused without rollout.enabled annotates the Deployment with %v", a)
	}
}

// serveArgs are the arguments of the tandem container of the render's Deployment.
func serveArgs(t *testing.T, objs []object) []string {
	t.Helper()
	d := only[appsv1.Deployment](t, objs, "Deployment")
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "tandem" {
			return c.Args
		}
	}
	t.Fatal("the Deployment has no container tandem")
	return nil
}

// grants flattens rules into one line per right: "RESOURCE[.GROUP] VERB [NAME]", sorted,
// so that two sets of rules granting the same compare equal however they are written.
func grants(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				if g != "" {
					res += "." + g
				}
				for _, v := range r.Verbs {
					for _, n := range names {
						out = append(out, strings.TrimSpace(res+" "+v+" "+n))
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// union is the sorted set of every grant of sets.
func union(sets ...[]string) []string {
	out := slices.Concat(sets...)
	slices.Sort(out)
	return slices.Compact(out)
}
