# expect: 9:15 must be known before the step runs
pipeline "p" {}
stage "s" {
  step "b" {
    action = std.exec
  }
  step "a" {
    action = std.exec
    timeout = step.b.duration
  }
}
