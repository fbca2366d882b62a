# Meta-arguments with values of the wrong kind.
pipeline "members" {}

stage "deploy" {
  step "release" {
    action            = helm.upgrade
    timeout           = "ten minutes"
    continue_on_error = "sometimes"
    for_each          = ["a", "b"]
    retry {
      attempts = 0
    }
  }
}
