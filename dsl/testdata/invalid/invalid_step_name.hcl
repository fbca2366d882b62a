# expect: 4:8 is not a valid step name
pipeline "p" {}
stage "s" {
  step "1st" {
    action = std.exec
  }
}
