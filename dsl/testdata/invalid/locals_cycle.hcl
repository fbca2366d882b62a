# expect: 4:3 local.a → local.b → local.a
pipeline "p" {}
locals {
  a = local.b
  b = local.a
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
