step "marker" {
  action = std.noop
  inputs = { release = "1.4.2" }
}
# step.marker.inputs.release == "1.4.2"
