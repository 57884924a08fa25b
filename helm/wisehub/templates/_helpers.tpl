{{/* Labels every wisehub object carries; "component" names the folder it comes from. */}}
{{- define "wisehub.labels" -}}
app.kubernetes.io/name: wisehub
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* The labels a component's pods are selected by (stable across upgrades). */}}
{{- define "wisehub.selectorLabels" -}}
app.kubernetes.io/name: wisehub
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Not root, read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "wisehub.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "wisehub.image" -}}
{{ .name }}:{{ .tag }}
{{- end }}
