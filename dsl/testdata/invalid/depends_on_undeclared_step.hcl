# expect: 9:19 Did you mean step.build?
pipeline "p" {}
stage "s" {
  step "build" {
    action = std.exec
  }
  step "use" {
    action = std.exec
    depends_on = [step.buidl]
  }
}
