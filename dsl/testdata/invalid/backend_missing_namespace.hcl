# expect: 4:24 Missing required argument
pipeline "p" {}
environment "prod" {
  backend "kubernetes" {
    context = "prod"
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
