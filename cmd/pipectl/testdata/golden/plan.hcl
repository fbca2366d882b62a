# The human plan, as a golden file: every mark, for_each instances each
# with their after: and timeout, handlers, outputs.
pipeline "golden" {}

variable "regions" {
  type    = list(string)
  default = ["eu", "us"]
}

stage "build" {
  step "version" {
    action  = std.exec
    command = "echo"
    args    = ["1.2.3"]
  }
  step "notes" {
    action   = std.render
    template = "release {{ .v }}"
    vars     = { v = "1.2.3" }
    output   = "notes.txt"
  }
}

stage "deploy" {
  depends_on = [stage.build]
  step "regions" {
    action   = std.noop
    for_each = toset(var.regions)
    inputs   = "${each.key}: ${trimspace(step.version.stdout)}"
    timeout  = "5m"
    retry {
      attempts = 2
      backoff  = "1s"
    }
  }
  step "never" {
    action = std.noop
    when   = false
  }
  step "maybe" {
    action = std.noop
    when   = step.version.exit_code == 0
  }
  on_failure {
    step "rollback" {
      action = std.noop
    }
  }
}

finally {
  step "notify" {
    action            = std.noop
    continue_on_error = true
  }
}

output "version" {
  value = trimspace(step.version.stdout)
}
