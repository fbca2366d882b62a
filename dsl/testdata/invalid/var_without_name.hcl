# expect: 6:11 A reference to var must name a variable
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    all = var
  }
}
