step "smoke" {
  action          = std.http_check
  url             = "https://members.example.com/healthz"
  expected_status = 200
  body_match      = "\"status\":\\s*\"ok\""
  retries         = 10
  interval        = "3s"
  request_timeout = "5s"
}
