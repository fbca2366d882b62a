# expect: 12:21 Invalid index
pipeline "p" {}
locals {
  list = ["a"]
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
output "o" {
  value = local.list[3]
}
