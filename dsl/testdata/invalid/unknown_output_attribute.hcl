# expect: 9:3 Did you mean "value"?
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
output "o" {
  valeu = 2
}
