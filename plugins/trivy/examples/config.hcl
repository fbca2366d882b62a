step "chart_scan" {
  action     = trivy.config
  target     = local.chart
  values     = local.values # scanned as this environment deploys it
  set        = local.overrides
  severities = ["CRITICAL", "HIGH"]
}

step "security_posture" {
  action   = trivy.config
  manifest = step.release.manifest # what is deployed
}
# step.chart_scan.findings[0].file, step.chart_scan.findings[0].line
