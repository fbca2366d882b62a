# expect: 7:25 Did you mean var.image_tag?
pipeline "p" {}
variable "image_tag" {}
stage "s" {
  step "a" {
    action = std.exec
    command = "deploy ${var.imag_tag}"
  }
}
