# expect: 7:5 Attribute redefined
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = "a"
    command = "b"
  }
}
