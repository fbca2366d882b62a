# expect: 6:20 Unterminated template string
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = "echo
  }
}
