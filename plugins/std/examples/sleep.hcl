step "settle" {
  action   = std.sleep
  duration = "30s"
}
