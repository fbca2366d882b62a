# expect: 6:15 only in a step that has for_each
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    command = each.key
  }
}
