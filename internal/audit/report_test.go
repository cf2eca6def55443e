package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGroupGathersPodsByOwnerWithTheCommandThatRecreatesThem(t *testing.T) {
	deploy := Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	tests := map[string]struct {
		findings []Finding
		want     []Owner
	}{
		"nothing found": {findings: nil, want: []Owner{}},
		"the pods of a Deployment make one owner, with counts per sidecar": {
			findings: []Finding{
				{Pod: "web-b", Owner: deploy, Missing: []string{"proxy"}},
				{Pod: "web-a", Owner: deploy, Missing: []string{"proxy", "logs"}, Outdated: []string{"seed"}},
			},
			want: []Owner{{
				Ref: deploy,
				Pods: []Pod{
					{Name: "web-a", Missing: []string{"proxy", "logs"}, Outdated: []string{"seed"}},
					{Name: "web-b", Missing: []string{"proxy"}},
				},
				Missing:  map[string]int{"proxy": 2, "logs": 1},
				Outdated: map[string]int{"seed": 1},
				Command:  "tandem rollout --apply -n shop --owner deployment/web",
				Fix:      RollSentence,
			}},
		},
		"owners sorted by namespace, kind and name; each kind its fix": {
			findings: []Finding{
				{Pod: "debug", Owner: Ref{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "debug"}, Missing: []string{"proxy"}},
				{Pod: "db-0", Owner: Ref{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"}, Outdated: []string{"proxy"}},
				{Pod: "agent-x", Owner: Ref{APIVersion: "apps/v1", Kind: "DaemonSet", Namespace: "infra", Name: "agent"}, Missing: []string{"logs"}},
				{Pod: "report-1-q", Owner: Ref{APIVersion: "batch/v1", Kind: "CronJob", Namespace: "shop", Name: "report"}, Missing: []string{"seed"}},
				{Pod: "migrate-z", Owner: Ref{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate"}, Missing: []string{"seed"}},
				{Pod: "legacy-2", Owner: Ref{APIVersion: "v1", Kind: "ReplicationController", Namespace: "shop", Name: "legacy"}, Missing: []string{"seed"}},
				{Pod: "legacy-1", Owner: Ref{APIVersion: "v1", Kind: "ReplicationController", Namespace: "shop", Name: "legacy"}, Missing: []string{"seed"}},
				{Pod: "canary-1", Owner: Ref{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "canary"}, Outdated: []string{"proxy"}},
			},
			want: []Owner{
				{Ref: Ref{APIVersion: "apps/v1", Kind: "DaemonSet", Namespace: "infra", Name: "agent"}, Pods: []Pod{{Name: "agent-x", Missing: []string{"logs"}}},
					Missing: map[string]int{"logs": 1}, Outdated: map[string]int{},
					Command: "tandem rollout --apply -n infra --owner daemonset/agent", Fix: RollSentence},
				{Ref: Ref{APIVersion: "batch/v1", Kind: "CronJob", Namespace: "shop", Name: "report"}, Pods: []Pod{{Name: "report-1-q", Missing: []string{"seed"}}},
					Missing: map[string]int{"seed": 1}, Outdated: map[string]int{},
					Fix: "nothing to run: the CronJob's next Job gets the current sidecars; Jobs running now finish as they are"},
				{Ref: Ref{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate"}, Pods: []Pod{{Name: "migrate-z", Missing: []string{"seed"}}},
					Missing: map[string]int{"seed": 1}, Outdated: map[string]int{},
					Fix: "a Job does not replace its pods: let it finish, or delete the Job and create it again"},
				{Ref: Ref{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "debug"}, Pods: []Pod{{Name: "debug", Missing: []string{"proxy"}}},
					Missing: map[string]int{"proxy": 1}, Outdated: map[string]int{},
					Fix: "nothing recreates a bare pod: delete it and create it again"},
				{Ref: Ref{APIVersion: "v1", Kind: "ReplicationController", Namespace: "shop", Name: "legacy"},
					Pods:    []Pod{{Name: "legacy-1", Missing: []string{"seed"}}, {Name: "legacy-2", Missing: []string{"seed"}}},
					Missing: map[string]int{"seed": 2}, Outdated: map[string]int{},
					Command: "kubectl -n shop delete pod legacy-1 legacy-2", Fix: "delete the pods: their controller, ReplicationController legacy, creates them again"},
				{Ref: Ref{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "canary"}, Pods: []Pod{{Name: "canary-1", Outdated: []string{"proxy"}}},
					Missing: map[string]int{}, Outdated: map[string]int{"proxy": 1},
					Command: "kubectl -n shop delete pod canary-1", Fix: "delete the pods: their controller, Rollout.argoproj.io canary, creates them again"},
				{Ref: Ref{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"}, Pods: []Pod{{Name: "db-0", Outdated: []string{"proxy"}}},
					Missing: map[string]int{}, Outdated: map[string]int{"proxy": 1},
					Command: "tandem rollout --apply -n shop --owner statefulset/db", Fix: RollSentence},
			},
		},
		"a kind of the same name in another group is another owner": {
			findings: []Finding{
				{Pod: "a", Owner: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "x"}, Missing: []string{"seed"}},
				{Pod: "b", Owner: Ref{APIVersion: "example.com/v1", Kind: "Deployment", Namespace: "ns", Name: "x"}, Missing: []string{"seed"}},
			},
			want: []Owner{
				{Ref: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "x"}, Pods: []Pod{{Name: "a", Missing: []string{"seed"}}},
					Missing: map[string]int{"seed": 1}, Outdated: map[string]int{},
					Command: "tandem rollout --apply -n ns --owner deployment/x", Fix: RollSentence},
				{Ref: Ref{APIVersion: "example.com/v1", Kind: "Deployment", Namespace: "ns", Name: "x"}, Pods: []Pod{{Name: "b", Missing: []string{"seed"}}},
					Missing: map[string]int{"seed": 1}, Outdated: map[string]int{},
					Command: "kubectl -n ns delete pod b", Fix: "delete the pods: their controller, Deployment.example.com x, creates them again"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Group(tc.findings)); diff != "" {
				t.Errorf("Group (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	tests := map[string]struct {
		report Report
		want   string
	}{
		"clean": {
			report: Report{Audited: 12},
			want:   "12 pods audited: each carries the current definition of every sidecar it asked for.\n",
		},
		"a Deployment and a bare pod": {
			report: Report{Audited: 40, Owners: Group([]Finding{
				{Pod: "web-a", Owner: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Missing: []string{"proxy"}, Outdated: []string{"seed"}},
				{Pod: "web-b", Owner: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Missing: []string{"proxy"}},
				{Pod: "debug", Owner: Ref{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "debug"}, Missing: []string{"logs"}},
			})},
			want: `Deployment shop/web: 2 pods
  missing   proxy (2 pods)
  outdated  seed (1 pod)
  fix       tandem rollout --apply -n shop --owner deployment/web

Pod shop/debug (a bare pod: no controller)
  missing   logs (1 pod)
  fix       nothing recreates a bare pod: delete it and create it again

3 pods of 2 owners lack sidecars they asked for or carry outdated ones (40 pods audited).
`,
		},
		"with the rollout controller": {
			report: withController(Report{Audited: 2, Owners: Group([]Finding{
				{Pod: "web-a", Owner: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Outdated: []string{"proxy"}},
			})}, "the controller updates 1 pod in place", &Controller{Deployment: "tandem-system/tandem", Settings: "in place on",
				Next: "Deployment shop/web: web-a in place (proxy: image v1 → v2)"}),
			want: `Deployment shop/web: 1 pod
  outdated  proxy (1 pod)
  fix       tandem rollout --apply -n shop --owner deployment/web
  rollout   the controller updates 1 pod in place

1 pod of 1 owner lack sidecars they asked for or carry outdated ones (2 pods audited).
Rollout controller (Deployment tandem-system/tandem: in place on): next, Deployment shop/web: web-a in place (proxy: image v1 → v2)
`,
		},
		"with the rollout controller halted": {
			report: Report{Audited: 2, Controller: &Controller{Deployment: "tandem-system/tandem", Settings: "in place on", Stopped: "halted: pod shop/web-a did not take this configuration"}},
			want: `2 pods audited: each carries the current definition of every sidecar it asked for.
Rollout controller (Deployment tandem-system/tandem: in place on): halted: pod shop/web-a did not take this configuration
`,
		},
		"with the rollout controller idle": {
			report: Report{Audited: 2, Controller: &Controller{Deployment: "tandem-system/tandem", Settings: "in place on"}},
			want: `2 pods audited: each carries the current definition of every sidecar it asked for.
Rollout controller (Deployment tandem-system/tandem: in place on): nothing it may do.
`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tc.report); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("WriteText (-want +got):\n%s", diff)
			}
		})
	}
}

// The JSON is one object whose owners are a list even when empty, with the fields
// scripts read.
func TestWriteJSON(t *testing.T) {
	var clean bytes.Buffer
	if err := WriteJSON(&clean, Report{Audited: 3}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(clean.String()), ""); got != `{"audited":3,"owners":[]}` {
		t.Errorf("clean report: %s", clean.String())
	}

	var b bytes.Buffer
	report := Report{Audited: 5, Owners: Group([]Finding{
		{Pod: "web-a", Owner: Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Missing: []string{"proxy"}},
	})}
	if err := WriteJSON(&b, report); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, b.String())
	}
	want := map[string]any{
		"audited": 5.0,
		"owners": []any{map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web",
			"pods":     []any{map[string]any{"name": "web-a", "missing": []any{"proxy"}}},
			"missing":  map[string]any{"proxy": 1.0},
			"outdated": map[string]any{},
			"command":  "tandem rollout --apply -n shop --owner deployment/web",
			"fix":      RollSentence,
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteJSON (-want +got):\n%s", diff)
	}
}

func withController(r Report, line string, c *Controller) Report {
	for i := range r.Owners {
		r.Owners[i].Controller = line
	}
	r.Controller = c
	return r
}
