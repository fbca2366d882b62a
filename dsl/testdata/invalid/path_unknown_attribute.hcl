# expect: 6:11 path has no attribute "module"
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    dir = path.module
  }
}
