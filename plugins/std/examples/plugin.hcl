plugin "std" {
  working_dir = "${path.root}/app"
  env         = { KUBECONFIG = "/etc/deploy/kubeconfig" }
}
