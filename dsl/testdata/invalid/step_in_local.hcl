# expect: 4:7 step.* cannot be used in a local value
pipeline "p" {}
locals {
  x = step.a.out
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
