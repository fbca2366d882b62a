# expect: 6:15 Did you mean "join"?
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = joinn(" ", ["a", "b"])
  }
}
