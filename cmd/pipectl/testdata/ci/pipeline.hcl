# The pipeline examples/ci's workflows deploy in their test: std only (no
# cluster), with what makes a saved plan travel — path.root, a file read
# by a step, a sensitive variable the apply job is given again, an
# environment — and a target outside the checkout (target_dir), which the
# second plan finds already deployed.
pipeline "ci-example" {}

variable "notify_token" {
  type      = string
  sensitive = true
}

variable "target_dir" {
  type = string
}

environment "dev" {
  replicas = 1
}

locals {
  template = "${path.root}/release.tmpl"
}

stage "build" {
  step "check" {
    action  = std.exec
    command = "test"
    args    = ["-f", local.template]
  }
}

stage "deploy" {
  depends_on = [stage.build]
  step "release" {
    action        = std.render
    template_file = local.template
    vars          = { replicas = env.replicas }
    output        = "${var.target_dir}/release.txt"
  }
  on_failure {
    step "rollback" {
      action  = std.render
      content = "rolled back\n"
      output  = step.release.path
    }
    step "notify" {
      action  = std.exec
      command = "sh"
      args    = ["-c", "test -n \"$TOKEN\""]
      env     = { TOKEN = var.notify_token }
    }
  }
}
