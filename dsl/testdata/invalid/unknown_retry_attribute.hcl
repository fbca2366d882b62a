# expect: 8:7 Did you mean "backoff"?
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    retry {
      attempts = 2
      backof  = "1s"
    }
  }
}
