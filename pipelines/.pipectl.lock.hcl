# This file is maintained by "pipectl init": the plugins this pipeline
# accepted. Commit it; a plugin binary that does not match is refused.

plugin "helm" {
  version = "0.1.0"
  sha256  = "5c740db29b6bf17ae771b82fb3e1faac2c1ab449c693a95a4b06b37f3b3092dd"
}

plugin "k8s" {
  version = "0.1.0"
  sha256  = "f5620adf95262caa3f73bd2b01fa853241deaba12598cb0ef7b3ab4de8cdf9b0"
}

plugin "std" {
  version = "0.1.0"
  sha256  = "823f3484ec9dccc4dbb434c8ad13ac37d4a2509b0b1bde8594e992f0007f900d"
}

plugin "trivy" {
  version = "0.1.0"
  sha256  = "2f3e81d57ef1abd628baa15045165a2521e429896573cbc805d5192bc14ff062"
}
