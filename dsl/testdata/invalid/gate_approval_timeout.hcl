# expect: 5:15 "1 hour" is not a positive duration
pipeline "p" {}
stage "deploy" {
  approval {
    timeout = "1 hour"
  }
  step "a" { action = std.noop }
}
