# expect: 6:16 not null
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    for_each = null
  }
}
