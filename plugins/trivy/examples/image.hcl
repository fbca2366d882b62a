step "image_scan" {
  action         = trivy.image
  image          = "registry.internal.example.com/alpha-members:${var.image_tag}"
  severities     = ["CRITICAL", "HIGH"]
  ignore_unfixed = true
  ignore = [{
    id      = "CVE-2025-9230"
    reason  = "KEK unwrap (RFC 3211) is not used; upgrade tracked in ALPHA-812"
    expires = "2026-12-31"
  }]
}
# step.image_scan.passed, step.image_scan.counts["HIGH"], step.image_scan.findings, step.image_scan.digests
