# expect: 13:14 Did you mean run.status?
# expect: 14:14 Did you mean run.steps.deploy?
# expect: 15:14 run.steps.deploy has no attribute "outputs"
pipeline "p" {}
stage "s" {
  step "deploy" {
    action = std.noop
  }
}
finally {
  step "f" {
    action = std.noop
    a      = run.stauts
    b      = run.steps.deplyo.status
    c      = run.steps.deploy.outputs
  }
}
