# The human apply output (plain lines), as a golden file: a chain, so the
# order of events is fixed; a log line, a skipped step, a failure with its
# diagnostic, a step it keeps from running, the handlers.
pipeline "golden" {}

stage "deploy" {
  step "build" {
    action  = std.exec
    command = "echo"
    args    = ["built 1.2.3"]
  }
  step "skipped" {
    action     = std.noop
    when       = false
    depends_on = [step.build]
  }
  step "smoke" {
    action     = std.noop
    fail       = "HTTP 503 from /healthz"
    depends_on = [step.skipped]
  }
  step "announce" {
    action     = std.noop
    depends_on = [step.smoke]
  }
  on_failure {
    step "rollback" {
      action = std.noop
    }
  }
}

finally {
  step "notify" {
    action = std.noop
  }
}
