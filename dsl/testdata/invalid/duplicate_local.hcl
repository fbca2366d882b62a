# expect: 7:3 Duplicate local value
pipeline "p" {}
locals {
  x = 1
}
locals {
  x = 2
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
