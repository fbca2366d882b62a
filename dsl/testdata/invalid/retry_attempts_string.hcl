# expect: 7:18 attempts must be a whole number
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    retry {
      attempts = "many"
    }
  }
}
