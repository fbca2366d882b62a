# expect: 7:9 Missing key/value separator
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    env = {
      A "1"
    }
  }
}
