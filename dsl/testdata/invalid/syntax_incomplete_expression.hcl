# expect: 6:18 Invalid expression
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    retries = 1 +
  }
}
