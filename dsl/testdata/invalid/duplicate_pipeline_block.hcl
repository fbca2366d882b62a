# expect: 3:1 Duplicate pipeline block
pipeline "p" {}
pipeline "q" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
