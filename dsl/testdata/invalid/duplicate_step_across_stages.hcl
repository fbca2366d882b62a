# expect: 9:3 Step names must be unique in the whole pipeline
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
stage "t" {
  step "a" {
    action = std.exec
  }
}
