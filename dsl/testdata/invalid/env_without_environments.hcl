# expect: 6:15 declares no environment block
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = env.namespace
  }
}
