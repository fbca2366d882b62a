# expect: 3:17 The description argument must be a string
pipeline "p" {
  description = ["a", "b"]
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
