# expect: 6:21 the gate could never open
pipeline "p" {}
stage "deploy" {
  approval {
    approvers     = ["alice", "bob"]
    min_approvals = 3
  }
  step "a" { action = std.noop }
}
