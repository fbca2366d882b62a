# expect: 3:11 Unclosed configuration block
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
