# A run that fails and is handled: an approval gate (approved ahead with
# apply -approve deploy), a sensitive variable no output may show, a
# retried step that fails, its stage's on_failure (the rollback), the
# pipeline's on_failure and finally. A chain, so that the order of events
# is the same on every run.
pipeline "gated" {
  description = "A release that fails and rolls back"
}

variable "token" {
  type      = string
  sensitive = true
  default   = "s3cr3t-t0ken-4242"
}

stage "build" {
  step "compile" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo compiling; echo using token $TOKEN; echo build ok"]
    env     = { TOKEN = var.token }
  }
}

stage "deploy" {
  depends_on = [stage.build]

  approval {
    message = "Roll out the release?"
  }

  step "rollout" {
    action  = std.exec
    command = "sh"
    # stderr only: two pipes read at once give no fixed order between them.
    args    = ["-c", "echo pod crashed >&2; exit 3"]
    retry {
      attempts = 2
      backoff  = "100ms"
    }
  }

  on_failure {
    step "rollback" {
      action  = std.exec
      command = "sh"
      args    = ["-c", "echo rolling back"]
    }
  }
}

on_failure {
  step "notify" {
    action = std.noop
  }
}

finally {
  step "cleanup" {
    action = std.noop
  }
}
