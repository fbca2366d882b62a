# expect: 4:13 is not a version constraint
pipeline "p" {}
plugin "helm" {
  version = ">= one.two"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
