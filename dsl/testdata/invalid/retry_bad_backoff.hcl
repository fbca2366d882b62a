# expect: 8:18 is not a positive duration
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    retry {
      attempts = 2
      backoff  = "soon"
    }
  }
}
