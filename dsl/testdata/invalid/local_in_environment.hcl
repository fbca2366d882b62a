# expect: 7:7 local.* cannot be used in an environment block
pipeline "p" {}
locals {
  y = 1
}
environment "dev" {
  x = local.y
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
