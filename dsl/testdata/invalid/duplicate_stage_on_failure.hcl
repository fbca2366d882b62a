# expect: 12:3 already has an on_failure block
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
  on_failure {
  step "b" {
    action = std.exec
  }
  }
  on_failure {
  step "c" {
    action = std.exec
  }
  }
}
