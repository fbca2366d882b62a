# expect: 6:3 Duplicate backend block
pipeline "p" {}
environment "prod" {
  region = "eu"
  backend "local" {}
  backend "kubernetes" {
    namespace = "pipectl"
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
