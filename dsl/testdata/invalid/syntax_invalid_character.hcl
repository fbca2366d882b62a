# expect: 6:15 Invalid character
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = @echo
  }
}
