# expect: 7:13 Variables not allowed
pipeline "p" {}
variable "w" {
  default = 1
}
variable "v" {
  default = var.w
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
