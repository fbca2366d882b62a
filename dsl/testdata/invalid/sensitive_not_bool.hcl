# expect: 4:15 The sensitive argument must be true or false
pipeline "p" {}
variable "v" {
  sensitive = "very"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
