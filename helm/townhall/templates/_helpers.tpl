{{/*
Names
*/}}
{{- define "townhall.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: <release>-<chart>, or just <release> when it already contains the chart name.
Kept to 40 characters so "-worker-<queue>" suffixes stay within the 63-character label limit.
*/}}
{{- define "townhall.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "townhall.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels. Call with (dict "root" $ "component" "web").
*/}}
{{- define "townhall.selectorLabels" -}}
app.kubernetes.io/name: {{ include "townhall.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "townhall.labels" -}}
helm.sh/chart: {{ include "townhall.chart" .root }}
{{ include "townhall.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: townhall
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Object names
*/}}
{{- define "townhall.configMapName" -}}
{{- printf "%s-config" (include "townhall.fullname" .) -}}
{{- end -}}

{{- define "townhall.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- printf "%s-secret" (include "townhall.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The migration Job runs before the release's own objects exist (pre-install), so without
existingSecret it reads a hook Secret of its own, created just before it.
*/}}
{{- define "townhall.migrationSecretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- printf "%s-migrate" (include "townhall.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "townhall.mediaClaimName" -}}
{{- .Values.mediaVolume.existingClaim | default (printf "%s-media" (include "townhall.fullname" .)) -}}
{{- end -}}

{{- define "townhall.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "townhall.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "townhall.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
SMTP_URL without credentials, for the ConfigMap.
*/}}
{{- define "townhall.smtpUrl" -}}
{{- with .Values.config.smtp -}}
{{- printf "%s://%s:%d" .scheme .host (int .port) -}}
{{- end -}}
{{- end -}}

{{/*
Pod annotations: checksums of the configuration so a change rolls the pods, then the
global and component annotations. Call with (dict "root" $ "extra" .Values.web.podAnnotations).
*/}}
{{- define "townhall.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
{{- if not .root.Values.existingSecret }}
checksum/secret: {{ include (print .root.Template.BasePath "/secret.yaml") .root | sha256sum }}
{{- end }}
{{- with .root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Folders beyond /tmp, for the pods that need them. Each deployment passes "dirs" (a dict) to
townhall.podSpecCommon, townhall.containerCommon and townhall.env:
- "metrics": PROMETHEUS_MULTIPROC_DIR, an emptyDir where several processes (gunicorn workers,
  Celery pool children) keep their values so that /metrics sums them;
- "media": MEDIA_DIR, the uploaded recordings on the claim web and the media workers share.
*/}}
{{- define "townhall.metricsDir" -}}/run/prometheus{{- end -}}
{{- define "townhall.mediaDir" -}}/media{{- end -}}

{{/*
An emptyDir volume body. Call with .Values.tmpVolume or .Values.metricsVolume.
*/}}
{{- define "townhall.emptyDir" -}}
emptyDir:
  {{- with .medium }}
  medium: {{ . }}
  {{- end }}
  {{- with .sizeLimit }}
  sizeLimit: {{ . }}
  {{- end }}
{{- end -}}

{{/*
Environment shared by the long-running processes: the ConfigMap, then run-time secrets by
key (never the owner DATABASE_URL, which only the migration Job receives), then the folders
of "dirs". Call with (dict "root" $ "extra" .Values.web.extraEnv "dirs" (dict "metrics" true)).
*/}}
{{- define "townhall.env" -}}
{{- $secret := include "townhall.secretName" .root -}}
{{- $dirs := get . "dirs" | default dict -}}
envFrom:
  - configMapRef:
      name: {{ include "townhall.configMapName" .root }}
env:
  - name: SECRET_KEY
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: SECRET_KEY
  - name: APP_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: APP_DATABASE_URL
  - name: REDIS_URL
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: REDIS_URL
{{- if or .root.Values.existingSecret .root.Values.smtp.url }}
  - name: SMTP_URL
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: SMTP_URL
        optional: true
{{- end }}
{{- if get $dirs "metrics" }}
  - name: PROMETHEUS_MULTIPROC_DIR
    value: {{ include "townhall.metricsDir" . }}
{{- end }}
{{- if get $dirs "media" }}
  - name: MEDIA_DIR
    value: {{ include "townhall.mediaDir" . }}
{{- end }}
{{- with .root.Values.extraEnv }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .extra }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/*
Shared pod-level settings. Call with (dict "root" $ "component" "web" "values" .Values.web),
optionally "selector" (the pod selector labels, used to complete topologySpreadConstraints)
and "dirs" (see above).
*/}}
{{- define "townhall.podSpecCommon" -}}
serviceAccountName: {{ include "townhall.serviceAccountName" .root }}
automountServiceAccountToken: {{ .root.Values.serviceAccount.automountServiceAccountToken }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . | indent 2 }}
{{- end }}
enableServiceLinks: false
{{- with .root.Values.podSecurityContext }}
securityContext:
{{ toYaml . | indent 2 }}
{{- end }}
{{- $nodeSelector := merge (deepCopy (.values.nodeSelector | default dict)) (.root.Values.nodeSelector | default dict) }}
{{- with $nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with (.values.tolerations | default .root.Values.tolerations) }}
tolerations:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with (.values.affinity | default .root.Values.affinity) }}
affinity:
{{ toYaml . | indent 2 }}
{{- end }}
{{- $root := .root }}
{{- $selector := get . "selector" | default (include "townhall.selectorLabels" (dict "root" $root "component" .component) | fromYaml) }}
{{- with (get .values "topologySpreadConstraints") }}
topologySpreadConstraints:
{{- range . }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $selector) }}
{{- end }}
  - {{ toYaml $c | indent 4 | trim }}
{{- end }}
{{- end }}
{{- $dirs := get . "dirs" | default dict }}
volumes:
  - name: tmp
    {{- include "townhall.emptyDir" $root.Values.tmpVolume | nindent 4 }}
{{- if get $dirs "metrics" }}
  - name: metrics
    {{- include "townhall.emptyDir" $root.Values.metricsVolume | nindent 4 }}
{{- end }}
{{- if get $dirs "media" }}
  - name: media
    persistentVolumeClaim:
      claimName: {{ include "townhall.mediaClaimName" $root }}
{{- end }}
{{- end -}}

{{/*
Container security context and the mounts: /tmp, and the folders of "dirs" (see above).
Call with (dict "root" $ "dirs" (dict "metrics" true)).
*/}}
{{- define "townhall.containerCommon" -}}
{{- $dirs := get . "dirs" | default dict -}}
image: {{ include "townhall.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
{{- with .root.Values.securityContext }}
securityContext:
{{ toYaml . | indent 2 }}
{{- end }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- if get $dirs "metrics" }}
  - name: metrics
    mountPath: {{ include "townhall.metricsDir" . }}
{{- end }}
{{- if get $dirs "media" }}
  - name: media
    mountPath: {{ include "townhall.mediaDir" . }}
{{- end }}
{{- end -}}

{{/*
Refuses to render when a process still stopping after SIGTERM would be killed: Kubernetes counts
terminationGracePeriodSeconds from before the preStop sleep. Call with
(dict "values" .Values.live "component" "live" "key" "drainSeconds").
*/}}
{{- define "townhall.checkShutdown" -}}
{{- $seconds := int (get .values .key) -}}
{{- $budget := int (sub .values.terminationGracePeriodSeconds .values.preStopSleepSeconds) -}}
{{- if ge $seconds $budget -}}
{{- fail (printf "%s.%s (%d) must be below %s.terminationGracePeriodSeconds minus %s.preStopSleepSeconds (%d): Kubernetes kills a %s pod that is still stopping" .component .key $seconds .component .component $budget .component) -}}
{{- end -}}
{{- end -}}

{{/*
HTTP probes for web and live. Call with (dict "probe" .Values.web.livenessProbe "path" "/healthz").
*/}}
{{- define "townhall.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
initialDelaySeconds: {{ .probe.initialDelaySeconds | default 0 }}
periodSeconds: {{ .probe.periodSeconds | default 10 }}
timeoutSeconds: {{ .probe.timeoutSeconds | default 3 }}
failureThreshold: {{ .probe.failureThreshold | default 3 }}
{{- end -}}

{{/*
PodDisruptionBudget spec body: minAvailable when set, else maxUnavailable, else maxUnavailable 1.
Call with (dict "pdb" .Values.web.pdb).
*/}}
{{- define "townhall.pdbBudget" -}}
{{- $min := get .pdb "minAvailable" -}}
{{- $max := get .pdb "maxUnavailable" -}}
{{- if and (not (kindIs "invalid" $min)) (ne (toString $min) "") -}}
minAvailable: {{ $min }}
{{- else if and (not (kindIs "invalid" $max)) (ne (toString $max) "") -}}
maxUnavailable: {{ $max }}
{{- else -}}
maxUnavailable: 1
{{- end -}}
{{- end -}}

{{/*
HPA metrics. Call with (dict "autoscaling" .Values.web.autoscaling).
*/}}
{{- define "townhall.hpaMetrics" -}}
{{- $cpu := get .autoscaling "targetCPUUtilizationPercentage" -}}
{{- $mem := get .autoscaling "targetMemoryUtilizationPercentage" -}}
{{- $hasCpu := and (not (kindIs "invalid" $cpu)) (ne (toString $cpu) "") -}}
{{- $hasMem := and (not (kindIs "invalid" $mem)) (ne (toString $mem) "") -}}
{{- if not (or $hasCpu $hasMem) -}}
{{- fail "autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" -}}
{{- end -}}
metrics:
{{- if $hasCpu }}
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: {{ $cpu }}
{{- end }}
{{- if $hasMem }}
  - type: Resource
    resource:
      name: memory
      target:
        type: Utilization
        averageUtilization: {{ $mem }}
{{- end }}
{{- end -}}

{{/*
A NetworkPolicy ingress rule: from pods matching the selectors, to one port.
Call with (dict "namespaceSelector" ... "podSelector" ... "port" 5000).
*/}}
{{- define "townhall.ingressRule" -}}
- from:
    - namespaceSelector:
        {{- toYaml (.namespaceSelector | default dict) | nindent 8 }}
      {{- with .podSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  ports:
    - port: {{ .port }}
      protocol: TCP
{{- end -}}

{{/*
Egress rules when networkPolicy.egress.restrict is true: DNS, then the configured rules
(PostgreSQL, Redis, SMTP).
*/}}
{{- define "townhall.egressRules" -}}
egress:
  - ports:
      - port: 53
        protocol: UDP
      - port: 53
        protocol: TCP
  {{- with .Values.networkPolicy.egress.rules }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
