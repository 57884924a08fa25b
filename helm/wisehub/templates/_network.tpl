{{/* Egress peers every wisehub pod role may need: DNS in kube-system. */}}
{{- define "wisehub.egress.dns" -}}
- to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: kube-system}
  ports:
    {{- range .Values.networkPolicy.dnsPorts }}
    - {protocol: UDP, port: {{ . }}}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
{{- end }}

{{/* The lineage database. */}}
{{- define "wisehub.egress.lineageDb" -}}
- to:
    - podSelector:
        matchLabels: {app.kubernetes.io/name: wisehub, app.kubernetes.io/component: lineage-db}
  ports:
    - {protocol: TCP, port: 5432}
{{- end }}

{{/* The RGW at its listed (possibly private) addresses; z2jh's privateIPs: false blocks them. */}}
{{- define "wisehub.egress.rgw" -}}
{{- if .Values.s3.egress.cidrs }}
- to:
    {{- range .Values.s3.egress.cidrs }}
    - ipBlock: {cidr: {{ . }}}
    {{- end }}
  ports:
    {{- range .Values.s3.egress.ports }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
{{- end }}
{{- end }}

{{/* Public addresses only: never private ranges, link-local (the cloud metadata server), nor
     the operator's deny list (the Kubernetes API's public address). */}}
{{- define "wisehub.egress.public" -}}
{{- if .Values.networkPolicy.publicInternet }}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          - 10.0.0.0/8
          - 172.16.0.0/12
          - 192.168.0.0/16
          - 169.254.0.0/16
          - 100.64.0.0/10
          {{- range .Values.networkPolicy.denyCIDRs }}
          - {{ . }}
          {{- end }}
{{- end }}
{{- end }}

{{/* Any pod of the dask-kubernetes operator's clusters (their own policies admit only
     their owner). */}}
{{- define "wisehub.selector.dask" -}}
matchExpressions:
  - {key: dask.org/component, operator: Exists}
{{- end }}
