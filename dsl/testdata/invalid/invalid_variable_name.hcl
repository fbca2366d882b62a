# expect: 3:10 is not a valid variable name
pipeline "p" {}
variable "image tag" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
