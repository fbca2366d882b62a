# expect: 9:5 Duplicate retry block
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    retry {
      attempts = 2
    }
    retry {
      attempts = 3
    }
  }
}
