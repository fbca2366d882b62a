# expect: 6:12 The freeze ends
pipeline "p" {}
stage "deploy" {
  freeze {
    from = "2026-12-24T10:00"
    to   = "2026-12-20"
  }
  step "a" { action = std.noop }
}
