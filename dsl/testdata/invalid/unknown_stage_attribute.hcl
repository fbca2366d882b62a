# expect: 4:3 Did you mean "depends_on"?
pipeline "p" {}
stage "s" {
  dependson = []
  step "a" {
    action = std.exec
  }
}
