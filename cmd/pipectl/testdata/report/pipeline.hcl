# A run that fails and is handled, for the run report's tests: logs, a
# Markdown artifact, an approval gate (approved with apply -approve
# deploy), a retried step that fails, its stage's on_failure, the
# pipeline's on_failure and finally. The token is sensitive: no
# output of pipectl may show it.
pipeline "report-demo" {
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
    args    = ["-c", "echo compiling 12 packages; echo using token $TOKEN; echo build ok"]
    env     = { TOKEN = var.token }
  }
  step "notes" {
    action  = std.render
    output  = "RELEASE.md"
    # The build's output holds the token (the command printed it): the
    # artifact must reach the record redacted.
    content = "# Release notes\n\n| change | by |\n|---|---|\n| faster start | platform |\n\n<script>alert(1)</script>\n\n## Build log\n\n```\n${step.compile.stdout}```\n"
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
    args    = ["-c", "echo rolling out ${step.compile.exit_code}; echo pod crashed >&2; exit 3"]
    retry {
      attempts = 2
      backoff  = "200ms"
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
    inputs = "deploy failed"
  }
}

finally {
  step "cleanup" {
    action = std.noop
  }
}
