{{/* The chart's name, as used in labels. */}}
{{- define "tandem.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every namespaced object, and of the webhook configuration. */}}
{{- define "tandem.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tandem.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tandem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tandem.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "tandem.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tandem.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tandem.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tandem.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret the server reads its serving certificate from, or keeps it in. */}}
{{- define "tandem.certSecret" -}}
{{- $c := .Values.certificates }}
{{- if eq $c.mode "self" }}
{{- default (printf "%s-certs" (include "tandem.fullname" .)) $c.self.secretName }}
{{- else if eq $c.mode "cert-manager" }}
{{- printf "%s-serving-cert" (include "tandem.fullname" .) }}
{{- else if eq $c.mode "files" }}
{{- required "certificates.files.secretName is required with certificates.mode=files" $c.files.secretName }}
{{- else }}
{{- fail (printf "certificates.mode must be self, cert-manager or files, not %q" $c.mode) }}
{{- end }}
{{- end }}

{{/* The DNS names the API server calls the Service by. */}}
{{- define "tandem.serviceHosts" -}}
{{- $svc := printf "%s.%s.svc" (include "tandem.fullname" .) .Release.Namespace }}
{{- list $svc (printf "%s.cluster.local" $svc) | toJson }}
{{- end }}

{{/* The sidecar configuration file: the value, or the chart's default. */}}
{{- define "tandem.config" -}}
{{- if .Values.config }}{{ .Values.config }}{{ else }}{{ .Files.Get "files/config.yaml" }}{{ end }}
{{- end }}

{{/*
The data of a ConfigMap holding the configuration. The indentation is stated (|2: two
more than the key's) rather than taken from the first line, so that a configuration
starting with an indented line still renders.
*/}}
{{- define "tandem.configData" -}}
config.yaml: |2
  {{- include "tandem.config" . | nindent 2 }}
{{- end }}

{{/* The container security context of every Tandem container. */}}
{{- define "tandem.containerSecurityContext" -}}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
{{- end }}

{{/* The pod security context of every Tandem pod: the image's user, stated so that
policies which check the pod spec see it. */}}
{{- define "tandem.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The arguments of tandem serve that run the rollout controller, its values checked first:
a value tandem serve would refuse fails the render with the value's name, rather than
installing replicas that cannot start. rollout.paused is no argument: it is the
Deployment's annotation, which the controller reads without a restart.
*/}}
{{- define "tandem.rolloutArgs" -}}
{{- $r := .Values.rollout }}
{{- range $k := list "inPlace" "restart" "missing" "paused" }}
{{- if not (kindIs "bool" (get $r $k)) }}
{{- fail (printf "rollout.%s must be true or false, not %q" $k (toString (get $r $k))) }}
{{- end }}
{{- end }}
{{- $max := toString $r.maxUnavailable }}
{{- if not (regexMatch "^([1-9][0-9]*|([1-9][0-9]?|100)%)$" $max) }}
{{- fail (printf "rollout.maxUnavailable must be a positive count of pods such as 1, or a percentage from 1%% to 100%% such as 25%%, not %q" $max) }}
{{- end }}
{{- range $k, $example := dict "interval" "30s" "timeout" "5m" }}
{{- $d := toString (get $r $k) }}
{{- /* A Go duration with a unit (tandem serve reads it with time.ParseDuration), not zero. */}}
{{- if or (not (regexMatch "^([0-9]+(\\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$" $d)) (regexMatch "^([0.]+[a-zµ]+)+$" $d) }}
{{- fail (printf "rollout.%s must be a positive Go duration such as %s, not %q" $k $example $d) }}
{{- end }}
{{- end -}}
- --rollout
- --rollout-in-place={{ $r.inPlace }}
- --rollout-restart={{ $r.restart }}
- --rollout-missing={{ $r.missing }}
- --rollout-max-unavailable={{ $max }}
- --rollout-interval={{ $r.interval }}
- --rollout-timeout={{ $r.timeout }}
{{- end }}
