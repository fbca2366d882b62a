# expect: 9:19 Each depends_on entry is a step or a stage
pipeline "p" {}
stage "s" {
  step "b" {
    action = std.exec
  }
  step "a" {
    action = std.exec
    depends_on = [step.b.out]
  }
}
