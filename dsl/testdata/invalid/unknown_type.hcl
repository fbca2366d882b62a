# expect: 4:10 The keyword "strng" is not a valid type specification
pipeline "p" {}
variable "v" {
  type = strng
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
