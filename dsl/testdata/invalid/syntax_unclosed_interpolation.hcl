# expect: 6:16 Unclosed template interpolation
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = "echo ${var.x"
  }
}
