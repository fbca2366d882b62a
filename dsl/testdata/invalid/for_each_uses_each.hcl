# expect: 5:16 for_each cannot refer to each.*
pipeline "p" {}
stage "s" {
  step "a" {
    for_each = each.value
    action   = std.exec
  }
}
