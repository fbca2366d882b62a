# expect: 9:15 Did you mean "var"?
pipeline "p" {}
variable "x" {
  default = 1
}
stage "s" {
  step "a" {
    action = std.exec
    command = vars.x
  }
}
