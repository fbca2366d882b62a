# expect: 6:16 timeout cannot refer to each.*
pipeline "p" {}
stage "s" {
  step "a" {
    for_each = { fast = "1m", slow = "10m" }
    timeout  = each.value
    action   = std.exec
  }
}
