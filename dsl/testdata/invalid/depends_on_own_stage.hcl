# expect: 6:19 cannot wait for that stage to finish
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    depends_on = [stage.s]
  }
}
