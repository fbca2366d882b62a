# expect: 6:15 is not a positive duration
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    timeout = "ten minutes"
  }
}
