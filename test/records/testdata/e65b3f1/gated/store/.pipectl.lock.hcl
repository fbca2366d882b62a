# This file is maintained by "pipectl init": the plugins this pipeline
# accepted. Commit it; a plugin binary that does not match is refused.

plugin "std" {
  version = "0.1.0"
  sha256  = "57980e4d0324cc1664459e7a5c9a62fe02546eb3ef1c11e8e57f8853a3971ce3"
}
