# expect: 5:17 Did you mean var.image_tag?
stage "build" {
  step "compile" {
    action = std.exec
    tag    = "${var.image_tga}"
  }
}
