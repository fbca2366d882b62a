# expect: 4:3 Did you mean to define argument "type"?
pipeline "p" {}
variable "v" {
  type {
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
