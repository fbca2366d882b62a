# expect: 9:21 env.* cannot be used in a validation rule
pipeline "p" {}
environment "dev" {
  x = 1
}
variable "v" {
  default = 1
  validation {
    condition     = env.x > 0
    error_message = "no"
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
