# expect: 6:17 "Europe/Berln" is not a time zone
pipeline "p" {}
stage "deploy" {
  window {
    hours     = "09:00-17:00"
    time_zone = "Europe/Berln"
  }
  step "a" { action = std.noop }
}
