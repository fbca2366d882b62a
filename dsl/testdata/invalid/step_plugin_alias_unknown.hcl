# expect: 10:14 has no configuration with alias "us"
pipeline "p" {}
plugin "std" {
  alias = "eu"
}
stage "s" {
  step "a" {
    action = std.exec
    command = "true"
    plugin = std.us
  }
}
