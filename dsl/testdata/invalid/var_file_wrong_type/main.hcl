# expect: prod.vars:2:12 from testdata/invalid/var_file_wrong_type/prod.vars does not match its type number
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
