# expect: 9:11 run.* cannot be used in an output
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.noop
  }
}
output "o" {
  value = run.id
}
