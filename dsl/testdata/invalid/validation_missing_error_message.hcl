# expect: 5:14 The argument "error_message" is required
pipeline "p" {}
variable "v" {
  default = 1
  validation {
    condition = var.v > 0
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
