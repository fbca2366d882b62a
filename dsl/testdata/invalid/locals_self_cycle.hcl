# expect: 4:3 local.a → local.a
pipeline "p" {}
locals {
  a = local.a + 1
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
