# expect: 5:15 Invalid namespace value
pipeline "p" {}
variable "ns" { default = "pipectl" }
backend "kubernetes" {
  namespace = var.ns
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
