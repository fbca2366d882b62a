# expect: 9:15 Did you mean step.build?
pipeline "p" {}
stage "s" {
  step "build" {
    action = std.exec
  }
  step "use" {
    action = std.exec
    command = step.biuld.out
  }
}
