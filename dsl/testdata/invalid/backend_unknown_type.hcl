# expect: 3:9 Did you mean "kubernetes"?
pipeline "p" {}
backend "kubernets" {
  namespace = "pipectl"
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
