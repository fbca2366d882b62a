# expect: 5:14 Invalid action
pipeline "p" {}
stage "s" {
  step "a" {
    action = std
  }
}
