# The pipeline whose runs fill runs.db: make.sh applies it with the
# pipectl of an earlier commit, and the record tests read that database.
pipeline "fixture" {}
variable "fail" {
  type    = bool
  default = false
}
environment "dev" {}
environment "prod" {}
stage "build" {
  step "compile" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo compiling; echo built >&2; ${var.fail ? "exit 3" : "true"}"]
  }
}
stage "deploy" {
  depends_on = [stage.build]
  approval {
    message             = "Deploy?"
    allow_self_approval = false
  }
  step "release" { action = std.noop }
  on_failure {
    step "rollback" { action = std.noop }
  }
}
