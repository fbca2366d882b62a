# expect: 7:3 Duplicate step declaration
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
  step "a" {
    action = std.exec
  }
}
