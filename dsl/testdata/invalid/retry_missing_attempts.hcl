# expect: 6:11 The argument "attempts" is required
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    retry {
      backoff = "1s"
    }
  }
}
