package chart

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
)

// networkPolicy.webhookFrom closes the webhook port to every peer it does not list;
// left empty, the port is open to all (the API server's address is the cluster's), as
// documented. The health and metrics ports keep their own rules.
func TestNetworkPolicyWebhookFrom(t *testing.T) {
	apiServers := []networkingv1.NetworkPolicyPeer{
		{IPBlock: &networkingv1.IPBlock{CIDR: "172.20.0.0/28"}},
		{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.1/32"}},
	}
	cases := []struct {
		name string
		args []string
		want []networkingv1.NetworkPolicyPeer // nil: every peer
	}{
		{"webhookFrom empty", nil, nil},
		{"webhookFrom listing the API server's addresses", []string{"--set-json", `networkPolicy.webhookFrom=[{"ipBlock":{"cidr":"172.20.0.0/28"}},{"ipBlock":{"cidr":"10.0.0.1/32"}}]`}, apiServers},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			np := only[networkingv1.NetworkPolicy](t, objects(t, render(t, append(c.args, "--set", "networkPolicy.enabled=true")...)), "NetworkPolicy")
			from := map[string][]networkingv1.NetworkPolicyPeer{}
			for _, rule := range np.Spec.Ingress {
				for _, p := range rule.Ports {
					if _, seen := from[p.Port.String()]; seen {
						t.Errorf("port %s is in two rules", p.Port)
					}
					from[p.Port.String()] = rule.From
				}
			}
			if got := slices.Sorted(maps.Keys(from)); !slices.Equal(got, []string{"health", "webhook"}) {
				t.Errorf("the policy admits ports %v, want health and webhook (no metricsFrom)", got)
			}
			if diff := cmp.Diff(c.want, from["webhook"]); diff != "" {
				t.Errorf("peers admitted to the webhook port (-want +got):\n%s", diff)
			}
			if from["health"] != nil {
				t.Errorf("the health port admits only %v; the kubelet's probes come from the node", from["health"])
			}
		})
	}
}
