# expect: 5:3 Unsupported argument
pipeline "p" {}
backend "kubernetes" {
  namespace   = "pipectl"
  config_pathh = "~/.kube/config"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
