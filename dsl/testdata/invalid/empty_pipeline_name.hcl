# expect: 2:10 The pipeline name must not be empty
pipeline "" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
