{{- define "osteo-cds.name" -}}
{{- .Chart.Name -}}
{{- end -}}

{{- define "osteo-cds.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "osteo-cds.selectorLabels" -}}
app.kubernetes.io/name: {{ include "osteo-cds.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "osteo-cds.labels" -}}
{{ include "osteo-cds.selectorLabels" . }}
app.kubernetes.io/part-of: osteo-cds
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "osteo-cds.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* Refuse, at render time, a required-mode release the service itself would refuse to start. */}}
{{- define "osteo-cds.checks" -}}
{{- $mode := .Values.settings.AUTH_MODE | default "required" -}}
{{- if and (eq $mode "required") (not .Values.settings.PUBLIC_BASE_URL) -}}
{{- fail "settings.PUBLIC_BASE_URL is required when settings.AUTH_MODE is required: the URL the EHR calls (the ingress URL); set AUTH_MODE to development only for a trial" -}}
{{- end -}}
{{- end -}}
