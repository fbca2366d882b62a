# accepts: command, args
# expect: 8:5 Did you mean the meta-argument "depends_on"?
# expect: 13:5 Did you mean the meta-argument "timeout"?
pipeline "p" {}
stage "s" {
  step "a" {
    action    = std.exec
    depend_on = []
    command   = "true"
  }
  step "b" {
    action  = std.exec
    timout  = "1m"
    command = "true"
  }
}
