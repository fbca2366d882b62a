# expect: 9:17 Did you mean stage.build?
pipeline "p" {}
stage "build" {
  step "a" {
    action = std.exec
  }
}
stage "test" {
  depends_on = [stage.biuld]
  step "b" {
    action = std.exec
  }
}
