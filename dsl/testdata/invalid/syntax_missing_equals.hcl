# expect: 4:8 Missing name for step
pipeline "p" {}
stage "s" {
  step {
    action = std.exec
  }
}
