# expect: 7:7 Approval on a failure handler
pipeline "p" {}
stage "deploy" {
  step "a" { action = std.noop }
  on_failure {
    step "b" {
      approval {}
      action = std.noop
    }
  }
}
