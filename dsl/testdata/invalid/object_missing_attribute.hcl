# expect: 13:19 This object does not have an attribute named "cpus"
pipeline "p" {}
environment "dev" {
  replicas = 1
}
variable "size" {
  type    = object({ cpu = string })
  default = { cpu = "1" }
}
stage "s" {
  step "a" {
    action = std.exec
    cpu = var.size.cpus
  }
}
