# This file is maintained by "pipectl init": the plugins this pipeline
# accepted. Commit it; a plugin binary that does not match is refused.

plugin "helm" {
  version = "0.1.0"
  sha256  = "19fff3d55fac20ba02bf2f3718d8e2281d6543c0da41513f7f9e0d790a3c2d1b"
}

plugin "k8s" {
  version = "0.1.0"
  sha256  = "10091bce7b6a3f44fbdb69a543653d3aa25d580cdfba2849569dc026eca915f7"
}

plugin "std" {
  version = "0.1.0"
  sha256  = "57980e4d0324cc1664459e7a5c9a62fe02546eb3ef1c11e8e57f8853a3971ce3"
}

plugin "trivy" {
  version = "0.1.0"
  sha256  = "625d882cf2c9e0ebaf6b927a07831b318d7372531d71c16b19a00aef3e4c7341"
}
