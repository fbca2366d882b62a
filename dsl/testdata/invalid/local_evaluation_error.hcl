# expect: 4:11 Unsuitable value for right operand
pipeline "p" {}
locals {
  x = 1 + "one"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
