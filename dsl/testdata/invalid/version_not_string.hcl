# expect: 4:13 The version argument must be a string
pipeline "p" {}
plugin "helm" {
  version = [1, 2]
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
