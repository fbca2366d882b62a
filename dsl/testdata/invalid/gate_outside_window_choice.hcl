# expect: 7:20 outside_window is "wait"
pipeline "p" {}
stage "deploy" {
  window {
    days = ["sat", "sun"]
  }
  outside_window = "later"
  step "a" { action = std.noop }
}
