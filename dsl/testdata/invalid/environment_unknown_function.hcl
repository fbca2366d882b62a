# expect: 4:10 Did you mean "upper"?
pipeline "p" {}
environment "dev" {
  name = uper("dev")
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
