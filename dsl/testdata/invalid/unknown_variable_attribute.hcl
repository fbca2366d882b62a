# expect: 4:3 Did you mean "default"?
pipeline "p" {}
variable "v" {
  defualt = 1
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
