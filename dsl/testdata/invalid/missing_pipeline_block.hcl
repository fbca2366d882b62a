# expect: 1:1 Missing pipeline block
stage "s" {
  step "a" {
    action = std.exec
  }
}
