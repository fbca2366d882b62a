# expect: 4:1 Duplicate environment declaration
pipeline "p" {}
environment "dev" {}
environment "dev" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
