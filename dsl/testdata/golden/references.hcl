# Several mistakes at once: every one is reported, each with a suggestion.
pipeline "members" {}

variable "image_tag" {
  type = string
}

environment "dev" {
  namespace = "development"
}

stage "build" {
  step "image" {
    action = std.exec
    tag    = var.imag_tag
  }
}

stage "deploy" {
  depends_on = [stage.biuld]

  step "release" {
    action    = helm.upgrade
    image     = step.imgae.digest
    namespace = env.namepsace
  }
  step "notify" {
    actoin = std.webhook
  }
}
