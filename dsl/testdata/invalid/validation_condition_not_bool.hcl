# expect: 6:21 must be true or false
pipeline "p" {}
variable "tag" {
  default = "x"
  validation {
    condition     = "yes"
    error_message = "no"
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
