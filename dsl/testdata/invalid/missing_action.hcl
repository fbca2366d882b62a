# expect: 4:3 Step "a" has no action
pipeline "p" {}
stage "s" {
  step "a" {
    command = "true"
  }
}
