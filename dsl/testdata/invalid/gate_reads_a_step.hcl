# expect: 5:12 cannot be used in an approval, window or freeze block
pipeline "p" {}
stage "deploy" {
  approval {
    when = step.a.changed
  }
  step "a" { action = std.noop }
}
