# expect: 4:3 Unexpected "nested" block
pipeline "p" {}
locals {
  nested {
  }
}
stage "s" {
  step "a" {
    action = std.exec
  }
}
