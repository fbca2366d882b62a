# expect: 5:13 does not match its type number
pipeline "p" {}
variable "v" {
  type    = number
  default = "many"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
