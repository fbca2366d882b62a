# expect: 4:3 Did you mean "step"?
pipeline "p" {}
stage "s" {
  stpe "x" {
  }
  step "a" {
    action = std.exec
  }
}
