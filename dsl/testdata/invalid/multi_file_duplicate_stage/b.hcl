# expect: 2:1 A stage named "build" was already declared at testdata/invalid/multi_file_duplicate_stage/a.hcl:2
stage "build" {
  step "package" {
    action = std.exec
  }
}
