# expect: 4:3 Did you mean "version"?
pipeline "p" {}
plugin "helm" {
  verison = ">= 1.0"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
