pipeline "p" {}
stage "build" {
  step "compile" {
    action = std.exec
  }
}
