# expect: 9:15 Did you mean env.namespace?
pipeline "p" {}
environment "dev" {
  namespace = "d"
}
stage "s" {
  step "a" {
    action = std.exec
    command = env.namspace
  }
}
