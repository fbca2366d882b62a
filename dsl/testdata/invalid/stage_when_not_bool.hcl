# expect: 4:10 The when condition must be true or false
pipeline "p" {}
stage "s" {
  when = [true]
  step "a" {
    action = std.exec
  }
}
