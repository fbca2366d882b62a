# expect: 6:15 stage.NAME can only be used in depends_on
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = stage.s
  }
}
