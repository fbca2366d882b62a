# expect: 6:16 for_each must be a map, an object or a set of strings, not a number
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    for_each = 3
  }
}
