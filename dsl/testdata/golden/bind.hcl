# Errors found when binding: a variable's validation, a cycle among locals.
pipeline "members" {}

variable "replicas" {
  type    = number
  default = 30
  validation {
    condition     = var.replicas <= 20
    error_message = "At most 20 replicas."
  }
}

locals {
  chart  = "${local.prefix}/chart"
  prefix = "${local.chart}/.."
}

stage "deploy" {
  step "release" {
    action = helm.upgrade
  }
}
