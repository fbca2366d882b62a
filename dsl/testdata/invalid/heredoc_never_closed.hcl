# expect: 6:14 has no closing EOT
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.noop
    inputs = <<EOT
hello
  }
}
