# expect: 11:1 Duplicate output declaration
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
output "o" {
  value = 1
}
output "o" {
  value = 2
}
