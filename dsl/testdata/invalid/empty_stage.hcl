# expect: 8:1 Stage "t" has no steps
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
stage "t" {
}
