# expect: 6:21 Tags are short
pipeline "p" {}
variable "tag" {
  default = "a-very-long-tag"
  validation {
    condition     = length(var.tag) < 5
    error_message = "Tags are short."
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
