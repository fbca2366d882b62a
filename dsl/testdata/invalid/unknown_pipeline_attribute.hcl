# expect: 3:3 Did you mean "description"?
pipeline "p" {
  descripton = "x"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
