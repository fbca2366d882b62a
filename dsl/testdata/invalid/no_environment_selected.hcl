# expect: 4:1 choose one with -env: dev, prod
# env:
pipeline "p" {}
environment "dev" {}
environment "prod" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
