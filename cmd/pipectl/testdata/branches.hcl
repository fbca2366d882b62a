# Two parallel branches joined by implicit references and depends_on, a
# flaky step that succeeds on retry, a step that times out, and the failure
# handlers that follow.
pipeline "branches" {}

variable "counter" {
  type = string
}

stage "build" {
  step "left" {
    action   = std.sleep
    duration = "1s"
  }
  step "right" {
    action   = std.sleep
    duration = "1s"
  }
  step "flaky" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "n=$(cat ${var.counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${var.counter}; [ $n -ge 2 ]"]
    retry {
      attempts = 3
      backoff  = "50ms"
    }
  }
}

stage "ship" {
  step "join" {
    action = std.noop
    inputs = [step.left.slept, step.right.slept]
  }
  step "publish" {
    action     = std.sleep
    duration   = "30s"
    timeout    = "200ms"
    depends_on = [step.join, step.flaky]
  }
  step "announce" {
    action     = std.noop
    depends_on = [step.publish]
  }
  on_failure {
    step "undo" {
      action = std.noop
      inputs = try(step.join.inputs, null)
    }
  }
}

finally {
  step "record" {
    action = std.noop
  }
}
