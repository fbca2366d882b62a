# expect: prod.vars:1:14 Missing newline after argument
# var-file: prod.vars
pipeline "p" {}
variable "replicas" {
  type = number
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
