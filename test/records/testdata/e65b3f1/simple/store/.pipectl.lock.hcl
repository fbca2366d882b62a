# This file is maintained by "pipectl init": the plugins this pipeline
# accepted. Commit it; a plugin binary that does not match is refused.

plugin "std" {
  version = "0.1.0"
  sha256  = "58bc981366ef66d0aa9b8606cfdf7335c40c304f5065314d357d94a6bb777a73"
}
