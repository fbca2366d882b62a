# expect: 6:12 The when condition must be true or false
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    when = null
  }
}
