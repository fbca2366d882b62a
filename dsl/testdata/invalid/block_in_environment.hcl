# expect: 4:3 Unexpected "resources" block
pipeline "p" {}
environment "dev" {
  resources {
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
