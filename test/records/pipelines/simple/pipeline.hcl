# A run that succeeds: a variable, an environment, a log line, an output
# passed down a chain, a Markdown artifact, the pipeline's outputs. A chain,
# so that the order of events is the same on every run.
pipeline "simple" {
  description = "Build and publish release notes"
}

variable "version" {
  type    = string
  default = "1.2.3"
}

environment "dev" {}

stage "build" {
  step "compile" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo compiling ${var.version}; echo build ok"]
  }
  step "notes" {
    action  = std.render
    output  = "RELEASE.md"
    content = "# Release ${var.version}\n\n${step.compile.stdout}"
  }
}

stage "publish" {
  depends_on = [stage.build]

  step "announce" {
    action = std.noop
  }
}

output "version" {
  value = var.version
}
