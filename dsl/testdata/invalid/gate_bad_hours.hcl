# expect: 5:13 "09:00-25:00" has "25:00", which is not a time of day
pipeline "p" {}
stage "deploy" {
  window {
    hours = "09:00-25:00"
  }
  step "a" { action = std.noop }
}
