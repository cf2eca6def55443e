{{/*
The value mode, checked: webhook, policy or auto. Any other value fails the render.
*/}}
{{- define "tandem.mode" -}}
{{- $mode := toString .Values.mode }}
{{- if not (has $mode (list "webhook" "policy" "auto")) }}
{{- fail (printf "mode must be webhook, policy or auto, not %q" $mode) }}
{{- end }}
{{- $mode }}
{{- end }}

{{/*
The objects of the value policies (the output of tandem compile, as YAML documents or a
JSON List), checked against the configuration the chart installs, as JSON:
{"objects": [...], "compiled": [...], "webhook": [...]}: the policies and their bindings
with the chart's labels, the sidecars they inject, and those they leave to the webhook.
Only for modes policy and auto.
*/}}
{{- define "tandem.policies" -}}
{{- $mode := include "tandem.mode" . }}
{{- include "tandem.checkPolicyAPI" (dict "mode" $mode "Capabilities" .Capabilities) }}
{{- /* In mode policy every sidecar must compile: without --partial, tandem compile
names those that do not. */}}
{{- $compile := printf "tandem compile --config <your file>%s > policies.yaml" (ternary "" " --partial" (eq $mode "policy")) }}
{{- if not .Values.policies }}
{{- fail (printf "mode %s needs the admission policies compiled from the configuration: run: %s, then give the chart --set-file policies=policies.yaml (and --set-file config=<your file>)" $mode $compile) }}
{{- end }}
{{- $objs := list }}
{{- range $i, $doc := regexSplit "(?m)^---[ \t]*$" (toString .Values.policies) -1 }}
{{- $o := fromYaml $doc }}
{{- if hasKey $o "Error" }}
{{- fail (printf "policies: document %d is not valid YAML: %s" (add1 $i) $o.Error) }}
{{- end }}
{{- if eq (toString $o.kind) "List" }}
{{- $objs = concat $objs (default list $o.items) }}
{{- else if $o }}
{{- $objs = append $objs $o }}
{{- end }}
{{- end }}
{{- /* tandem compile writes one MutatingAdmissionPolicy, its binding, and
ValidatingAdmissionPolicies with their bindings: nothing else is taken. */}}
{{- $kinds := list "MutatingAdmissionPolicy" "MutatingAdmissionPolicyBinding" "ValidatingAdmissionPolicy" "ValidatingAdmissionPolicyBinding" }}
{{- $got := list }}
{{- $ok := true }}
{{- range $objs }}
{{- if and (kindIs "map" .) (has (toString .kind) $kinds) (hasPrefix "admissionregistration.k8s.io/" (toString .apiVersion)) }}
{{- $got = append $got .kind }}
{{- else if kindIs "map" . }}
{{- $ok = false }}
{{- $got = append $got (printf "%v" (default "an object without kind" .kind)) }}
{{- else }}
{{- $ok = false }}
{{- $got = append $got (printf "a %s" (kindOf .)) }}
{{- end }}
{{- end }}
{{- if or (not $ok) (ne (len (without $got "MutatingAdmissionPolicy")) (sub (len $got) 1)) }}
{{- fail (printf "policies must hold what tandem compile writes: one MutatingAdmissionPolicy, and the bindings and ValidatingAdmissionPolicies that go with it (admissionregistration.k8s.io); they hold [%s]. Run: %s" (join ", " $got) $compile) }}
{{- end }}
{{- $want := include "tandem.config" . | sha256sum }}
{{- $labels := include "tandem.labels" . | fromYaml }}
{{- $out := list }}
{{- $compiled := list }}
{{- $webhook := list }}
{{- range $objs }}
{{- $meta := default dict .metadata }}
{{- $ann := default dict $meta.annotations }}
{{- $sha := toString (get $ann "tandem.io/config-sha256") }}
{{- if not $sha }}
{{- fail (printf "policies: %s %s has no annotation tandem.io/config-sha256, which tandem compile writes. Run: %s" .kind (toString $meta.name) $compile) }}
{{- end }}
{{- if ne $sha $want }}
{{- fail (printf "policies were compiled from another configuration (%s %s has tandem.io/config-sha256 %s; the configuration this chart installs, %s, has %s); run: %s, with the file you give the chart with --set-file config=<your file>" .kind (toString $meta.name) $sha (ternary "the value config" "the chart's default (examples/config.yaml)" (not (empty $.Values.config))) $want $compile) }}
{{- end }}
{{- if eq .kind "MutatingAdmissionPolicy" }}
{{- $compiled = splitList "," (toString (get $ann "tandem.io/compiled-sidecars")) | compact }}
{{- $webhook = splitList "," (toString (get $ann "tandem.io/webhook-sidecars")) | compact }}
{{- end }}
{{- $meta = set (deepCopy $meta) "labels" (merge (dict) $labels (default dict $meta.labels)) }}
{{- $out = append $out (set (omit . "status") "metadata" $meta) }}
{{- end }}
{{- if and (eq $mode "policy") $webhook }}
{{- fail (printf "mode policy: these sidecars need the webhook: %s (tandem compile left them out; its warnings say why); use mode auto, which runs the webhook for the pods that ask for them, or change them so that they compile" (join ", " $webhook)) }}
{{- end }}
{{- dict "objects" $out "compiled" $compiled "webhook" $webhook | toJson }}
{{- end }}

{{/*
Fails when the cluster cannot run the policies: installed or rendered against a
cluster (helm install, upgrade, template --validate), by what its API server serves;
rendered offline (helm template), by --kube-version, as Kubernetes serves by default.
Only a render against a cluster lists kinds ("apps/v1/Deployment") in APIVersions.
*/}}
{{- define "tandem.checkPolicyAPI" -}}
{{- $api := "admissionregistration.k8s.io/v1" }}
{{- $why := "Tandem's admission policies need it, which Kubernetes serves by default from 1.36 (1.32 to 1.35 have only alpha or beta versions, behind the MutatingAdmissionPolicy feature gate): use mode webhook there" }}
{{- $kube := .Capabilities.KubeVersion.Version }}
{{- if .Capabilities.APIVersions.Has "apps/v1/Deployment" }}
{{- if not (.Capabilities.APIVersions.Has (printf "%s/MutatingAdmissionPolicy" $api)) }}
{{- fail (printf "mode %s: this cluster (Kubernetes %s) does not serve MutatingAdmissionPolicy %s; %s" .mode $kube $api $why) }}
{{- end }}
{{- else if semverCompare "<1.36.0-0" $kube }}
{{- fail (printf "mode %s: Kubernetes %s (--kube-version) does not serve MutatingAdmissionPolicy %s by default; %s" .mode $kube $api $why) }}
{{- end }}
{{- end }}

{{/*
"true" when the chart runs the webhook server: in mode webhook, and in mode auto while
the policies leave sidecars to it; empty in mode policy.
*/}}
{{- define "tandem.serveWebhook" -}}
{{- $mode := include "tandem.mode" . }}
{{- if eq $mode "webhook" }}true
{{- else if eq $mode "auto" }}
{{- if (include "tandem.policies" . | fromJson).webhook }}true{{ end }}
{{- end }}
{{- end }}

{{/*
The sidecars the policies inject, as a JSON list, when the webhook runs beside them
(mode auto): the webhook's pod entries leave out pods that ask for these only. Empty in
mode webhook.
*/}}
{{- define "tandem.compiledSidecars" -}}
{{- if eq (include "tandem.mode" .) "webhook" }}
{{- list | toJson }}
{{- else }}
{{- (include "tandem.policies" . | fromJson).compiled | toJson }}
{{- end }}
{{- end }}
