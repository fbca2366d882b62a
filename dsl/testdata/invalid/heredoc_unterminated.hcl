# expect: 7:22 Unterminated heredoc
pipeline "p" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "sh"
    args    = ["-c", <<-EOT
      echo one
    EOTX
    ]
  }
}
variable "x" {
  default = 1
}
