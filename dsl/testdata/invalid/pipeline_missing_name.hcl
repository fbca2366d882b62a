# expect: 2:10 Missing name for pipeline
pipeline {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
