# expect: 9:11 each.* cannot be used in an output
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
output "o" {
  value = each.key
}
