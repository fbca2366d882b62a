# Alpha Members in {{ .environment }}

| | |
|---|---|
| Namespace | {{ .namespace }} |
| Release | {{ .release }} (revision {{ .revision }}) |
| Host | {{ .host }} |
| Replicas | {{ .replicas }} |
| Autoscaling | {{ if .autoscaling.enabled }}{{ .autoscaling.min }}–{{ .autoscaling.max }} pods{{ else }}off{{ end }} |
