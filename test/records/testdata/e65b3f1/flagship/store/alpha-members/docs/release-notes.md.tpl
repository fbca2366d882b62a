# Alpha Members {{ .version }}

- Environment: {{ .environment }}
- Image: `{{ .image }}`
- Helm revision: {{ .revision }}
- URL: {{ .url }}
