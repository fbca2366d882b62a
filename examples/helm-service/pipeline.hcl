# One Helm chart, deployed atomically: lint, scan, upgrade (the plan shows
# the diff), wait for the rollout; on failure roll back and notify.
pipeline "helm-service" {}

variable "chart" { type = string }     # a chart directory
variable "namespace" { type = string } # created on first install
variable "release" { default = "podinfo" }
variable "cpu" { default = "1m" } # the pods' CPU request
variable "scan_severities" {
  type    = list(string)
  default = ["CRITICAL", "HIGH"]
}
variable "notify_webhook" { default = "" } # none: no notification

locals {
  set = { # values on top of the chart's
    resources          = { requests = { cpu = var.cpu } }
    podSecurityContext = { runAsNonRoot = true }
    securityContext    = { readOnlyRootFilesystem = true, runAsUser = 10001 }
  }
}

stage "check" {
  step "lint" {
    action = helm.lint
    chart  = var.chart
    set    = local.set
    strict = true
  }
  step "scan" {
    action     = trivy.config
    target     = var.chart
    set        = local.set
    severities = var.scan_severities
  }
}

stage "deploy" {
  depends_on = [stage.check]
  step "release" {
    action           = helm.upgrade
    release          = var.release
    chart            = var.chart
    namespace        = var.namespace
    set              = local.set
    atomic           = true # a failed upgrade rolls back by itself
    create_namespace = true
    failure_grace    = "10s"
  }
  step "rollout" {
    action     = k8s.rollout_status
    namespace  = var.namespace
    deployment = step.release.name
  }
  on_failure {
    step "rollback" { # to the last good revision: also after a failed rollout
      action    = helm.rollback
      release   = var.release
      namespace = var.namespace
      wait      = true
    }
  }
}

on_failure {
  step "notify" {
    action = std.webhook
    when   = var.notify_webhook != ""
    url    = var.notify_webhook
    text   = "${var.release} did not deploy to ${var.namespace}: run ${run.id} ${run.status}"
  }
}
