# expect: 3:1 declares no environment blocks
# env: dev
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
