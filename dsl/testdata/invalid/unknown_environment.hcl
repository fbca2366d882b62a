# expect: 4:1 Did you mean "prod"?
# env: prd
pipeline "p" {}
environment "dev" {}
environment "prod" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
