# expect: 6:25 continue_on_error must be true or false
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    continue_on_error = "sometimes"
  }
}
