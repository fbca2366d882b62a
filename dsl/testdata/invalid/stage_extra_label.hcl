# expect: 3:11 Extraneous label for stage
pipeline "p" {}
stage "s" "t" {
  step "a" {
    action = std.exec
  }
}
