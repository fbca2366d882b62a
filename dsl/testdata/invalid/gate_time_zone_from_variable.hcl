# expect: 12:17 "Mars/Olympus" is not a time zone
pipeline "p" {}
variable "tz" {
  type    = string
  default = "Mars/Olympus"
}
environment "prod" {
  tz = var.tz
}
stage "deploy" {
  window {
    time_zone = env.tz
  }
  step "a" { action = std.noop }
}
