# expect: 7:18 a whole number from 1 to 100
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    retry {
      attempts = 1.5
    }
  }
}
