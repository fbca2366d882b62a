step "values" {
  action   = std.render
  output   = "${path.root}/build/values-prod.yaml"
  template = <<-EOT
    image:
      tag: {{ .tag }}
    replicas: {{ .replicas }}
  EOT
  vars = { tag = "1.4.2", replicas = 3 }
}
# step.values.path, step.values.sha256, step.values.changed, step.values.content
