# A release that fails mid-way and is rolled back, like the flagship's
# failed run: a scan that fails but goes on (continue_on_error), a release
# that changes the target, a rollout that fails in one region after a
# retry, a step it keeps from starting, the stage's rollback and the
# pipeline's notification; finally reads back how every step went (run.*).
pipeline "rolled-back" {}

stage "build" {
  step "compile" {
    action = std.noop
  }
  step "scan" {
    for_each          = toset(["api", "web"])
    action            = std.noop
    continue_on_error = true
    fail              = each.key == "web" ? "CVE-2026-0001 in web" : null
  }
}

stage "deploy" {
  depends_on = [stage.build]

  step "release" {
    action  = std.render
    output  = "RELEASE.md"
    content = "v2\n"
  }
  step "rollout" {
    for_each   = toset(["eu", "us"])
    action     = std.noop
    depends_on = [step.release]
    fail       = each.key == "us" ? "no capacity in us" : null
    retry {
      attempts = 2
      backoff  = "10ms"
    }
  }
  step "verify" {
    action     = std.noop
    depends_on = [step.rollout]
  }

  on_failure {
    step "rollback" {
      action  = std.render
      output  = step.release.path
      content = "v1\n"
    }
  }
}

on_failure {
  step "notify" {
    action = std.noop
    inputs = [for f in run.failed_steps : f.address]
  }
}

finally {
  step "summary" {
    action = std.noop
    inputs = {
      for name, s in run.steps : name => { status = s.status, error = s.error == null ? "" : s.error }
    }
  }
}
