# expect: 5:24 "mnd" is not a day
pipeline "p" {}
stage "deploy" {
  window {
    days = ["mon-fri", "mnd"]
  }
  step "a" { action = std.noop }
}
