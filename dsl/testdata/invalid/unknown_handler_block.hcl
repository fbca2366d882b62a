# expect: 9:3 Blocks of type "stage" are not expected here
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
finally {
  stage "x" {
  }
}
