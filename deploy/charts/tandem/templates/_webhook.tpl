{{/*
The names of the sidecars of the configuration by failure policy, as JSON:
{"fail": [...], "ignore": [...]}. A configuration that is not YAML with a list of
sidecars fails the render with the reason.
*/}}
{{- define "tandem.sidecarsByPolicy" -}}
{{- $cfg := include "tandem.config" . | fromYaml }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "config is not valid YAML: %s" $cfg.Error) }}
{{- end }}
{{- if not (or (kindIs "invalid" $cfg.sidecars) (kindIs "slice" $cfg.sidecars)) }}
{{- fail "config: sidecars is not a list" }}
{{- end }}
{{- $fail := list }}
{{- $ignore := list }}
{{- range $i, $s := $cfg.sidecars }}
{{- if not (kindIs "map" $s) }}
{{- fail (printf "config: sidecars[%d] is not a mapping" $i) }}
{{- end }}
{{- if not $s.name }}
{{- fail (printf "config: sidecars[%d] has no name" $i) }}
{{- end }}
{{- if eq (default "fail" $s.failurePolicy) "ignore" }}
{{- $ignore = append $ignore $s.name }}
{{- else }}
{{- $fail = append $fail $s.name }}
{{- end }}
{{- end }}
{{- dict "fail" $fail "ignore" $ignore | toJson }}
{{- end }}

{{/*
Every label value naming a non-empty set of the given sidecars, in any order, joined
by dots (the namespace label's syntax): one per line.
*/}}
{{- define "tandem.orderings" -}}
{{- range $n := .names }}
{{- $v := ternary $n (printf "%s.%s" $.prefix $n) (eq $.prefix "") }}
{{ $v }}
{{- include "tandem.orderings" (dict "prefix" $v "names" (without $.names $n)) }}
{{- end }}
{{- end }}

{{/*
One webhook entry. Arguments: root (the chart's context), policy (Fail or Ignore),
source (pod or namespace), names (this policy's sidecars), ignore (the best-effort
sidecars), ignoreValues (namespace label values naming only best-effort sidecars),
compiled (in mode auto, the sidecars the admission policies inject; else empty).
*/}}
{{- define "tandem.webhookEntry" -}}
{{- $root := .root }}
{{- $key := "tandem.io/inject" }}
{{- $has := printf "has(object.metadata.annotations) && '%s' in object.metadata.annotations" $key }}
{{- $names := printf "object.metadata.annotations['%s'].replace('.', ',').replace(' ', ',').split(',').filter(n, n != '' && n != 'false')" $key }}
{{- $ignore := printf "[%s]" (include "tandem.celStrings" .ignore) }}
{{- $compiled := printf "[%s]" (include "tandem.celStrings" .compiled) -}}
- name: {{ lower .policy }}-{{ .source }}.inject.tandem.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: {{ .policy }}
  timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds }}
  reinvocationPolicy: {{ $root.Values.webhook.reinvocationPolicy }}
  clientConfig:
    service:
      name: {{ include "tandem.fullname" $root }}
      namespace: {{ $root.Release.Namespace }}
      path: /mutate
      port: {{ $root.Values.service.port }}
    {{- if eq $root.Values.certificates.mode "files" }}
    caBundle: {{ required "certificates.files.caBundle is required with certificates.mode=files" $root.Values.certificates.files.caBundle }}
    {{- end }}
  rules:
    - operations: [CREATE]
      apiGroups: [""]
      apiVersions: [v1]
      resources: [pods]
      scope: Namespaced
  namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values: {{ include "tandem.excludedNamespaces" $root }}
      {{- if eq .source "namespace" }}
      {{- if eq .policy "Fail" }}
      - key: {{ $key }}
        operator: Exists
      - key: {{ $key }}
        operator: NotIn
        values: {{ concat (list "" "false") .ignoreValues | toJson }}
      {{- else }}
      - key: {{ $key }}
        operator: In
        values: {{ .ignoreValues | toJson }}
      {{- end }}
      {{- end }}
  objectSelector:
    matchExpressions:
      - key: {{ $key }}
        operator: NotIn
        values: ["false"]
  matchConditions:
    {{- if eq .source "pod" }}
    # Each condition stands alone: all are evaluated, and an error in one where
    # another is false would still skip the entry, but reads as a fault.
    - name: pod-annotation-names-sidecars
      expression: {{ printf "%s && %s.size() > 0" $has $names | quote }}
    {{- if eq .policy "Fail" }}
    - name: names-a-mandatory-or-unknown-sidecar
      expression: {{ printf "%s && %s.exists(n, !(n in %s))" $has $names $ignore | quote }}
    {{- else }}
    - name: names-only-best-effort-sidecars
      expression: {{ printf "%s && %s.all(n, n in %s)" $has $names $ignore | quote }}
    {{- end }}
    {{- if .compiled }}
    # Mode auto: the admission policies inject pods that name only their sidecars.
    # Those naming another (left to the webhook, or unknown) come here.
    - name: names-a-sidecar-the-policies-leave-to-the-webhook
      expression: {{ printf "%s && %s.exists(n, !(n in %s))" $has $names $compiled | quote }}
    {{- end }}
    {{- else }}
    - name: no-pod-annotation
      expression: {{ printf "!(%s)" $has | quote }}
    {{- end }}
    {{- if .compiled }}
    # Mode auto: the admission policies run before webhooks, so a pod they injected
    # arrives with the status annotation and needs no call, however it asked.
    - name: not-injected-by-the-policies
      expression: {{ printf "!(has(object.metadata.annotations) && '%s' in object.metadata.annotations)" "tandem.io/status" | quote }}
    {{- end }}
{{- end }}

{{/* A list of strings as the elements of a CEL list literal. */}}
{{- define "tandem.celStrings" -}}
{{- $q := list }}
{{- range . }}{{ $q = append $q (printf "'%s'" .) }}{{ end }}
{{- join ", " $q }}
{{- end }}

{{/*
The namespaces whose pods are never sent to Tandem, as a JSON list: the system
namespaces whatever webhook.excludeNamespaces says (a pod there must never wait on
Tandem), the values', and the release namespace (Tandem's own pods).
*/}}
{{- define "tandem.excludedNamespaces" -}}
{{- $system := list "kube-system" "kube-node-lease" "kube-public" }}
{{- concat $system (.Values.webhook.excludeNamespaces | default list) (list .Release.Namespace) | uniq | toJson }}
{{- end }}
