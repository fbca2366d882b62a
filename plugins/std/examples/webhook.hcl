step "announce" {
  action  = std.webhook
  url     = "https://hooks.slack.com/services/T000/B000/XXXX" # a secret: use a sensitive variable
  text    = "alpha-members 1.4.2 is live"
  payload = { channel = "#deploys" }
}
