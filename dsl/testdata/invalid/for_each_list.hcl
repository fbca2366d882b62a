# expect: 6:16 Convert a list of strings with toset
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    for_each = ["a", "b"]
  }
}
