# This file is maintained by "pipectl init": the plugins this pipeline
# accepted. Commit it; a plugin binary that does not match is refused.

plugin "std" {
  version = "0.1.0"
  sha256  = "20d97e32b224e650987ab84d03377258807a73ced927db308ec981c0cedc8a9a"
}
