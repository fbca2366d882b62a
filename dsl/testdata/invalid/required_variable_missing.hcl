# expect: 3:1 Variable "image_tag" has no default
pipeline "p" {}
variable "image_tag" {
  type = string
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
