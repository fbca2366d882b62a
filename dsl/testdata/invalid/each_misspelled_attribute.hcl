# expect: 7:12 Did you mean each.value?
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    for_each = toset(["x"])
    item = each.valeu
  }
}
