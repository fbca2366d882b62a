# expect: 11:16 for_each cannot be sensitive
pipeline "p" {}
variable "targets" {
  type      = map(string)
  default   = { a = "1" }
  sensitive = true
}
stage "s" {
  step "a" {
    action = std.exec
    for_each = var.targets
  }
}
