# expect: 8:1 Duplicate stage declaration
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
stage "s" {
  step "b" {
    action = std.exec
  }
}
