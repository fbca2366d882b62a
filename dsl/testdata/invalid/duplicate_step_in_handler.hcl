# expect: 9:3 Duplicate step declaration
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
finally {
  step "a" {
    action = std.exec
  }
}
