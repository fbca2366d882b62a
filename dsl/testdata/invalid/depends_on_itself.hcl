# expect: 6:19 Step "a" cannot depend on itself
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    depends_on = [step.a]
  }
}
