# expect: 7:21 Only dev, staging or prod
# var: target=qa
pipeline "p" {}
variable "target" {
  type = string
  validation {
    condition     = contains(["dev", "staging", "prod"], var.target)
    error_message = "Only dev, staging or prod."
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
