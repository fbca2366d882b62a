# expect: 6:15 refers to its own outputs
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = step.a.out
  }
}
