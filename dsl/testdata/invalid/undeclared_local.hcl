# expect: 9:15 Did you mean local.chart?
pipeline "p" {}
locals {
  chart = "c"
}
stage "s" {
  step "a" {
    action = std.exec
    command = local.chrat
  }
}
