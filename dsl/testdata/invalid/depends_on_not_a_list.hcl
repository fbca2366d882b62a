# expect: 9:18 depends_on must be a list of references
pipeline "p" {}
stage "s" {
  step "b" {
    action = std.exec
  }
  step "a" {
    action = std.exec
    depends_on = step.b
  }
}
