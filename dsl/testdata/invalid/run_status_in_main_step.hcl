# expect: 7:14 run.status cannot be used in a stage's steps
# expect: 8:14 run.failed_steps cannot be used in a stage's steps
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.noop
    when   = run.status != "failed"
    inputs = run.failed_steps
    id     = run.id
  }
}
