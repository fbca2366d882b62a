# expect: 4:1 Duplicate plugin declaration
pipeline "p" {}
plugin "std" {}
plugin "std" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
