step "secret_scan" {
  action    = trivy.secret
  target    = local.chart
  skip_dirs = ["charts"]
  allow_rules = [{
    id          = "fixtures"
    description = "fake keys of the chart's unit tests"
    path        = "tests/fixtures/.*\\.env$"
  }]
}
# step.secret_scan.findings: rule id, file and line; never the secret
