# expect: 4:1 from -var does not match its type number
# var: replicas=three
pipeline "p" {}
variable "replicas" {
  type = number
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
