# expect: 4:1 Duplicate variable declaration
pipeline "p" {}
variable "v" {}
variable "v" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
