# expect: 4:17 Stage "s" cannot depend on itself
pipeline "p" {}
stage "s" {
  depends_on = [stage.s]
  step "a" {
    action = std.exec
  }
}
