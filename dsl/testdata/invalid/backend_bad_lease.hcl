# expect: 5:20 Invalid lease_duration value
pipeline "p" {}
backend "kubernetes" {
  namespace      = "pipectl"
  lease_duration = "1s"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
