# expect: 6:12 Did you mean pipeline.name?
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
    name = pipeline.nmae
  }
}
