# expect: 8:12 The argument "value" is required
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
output "o" {
  description = "x"
}
