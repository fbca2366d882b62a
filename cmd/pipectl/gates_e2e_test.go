package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
)

// The approval gate of deploy, answered by other pipectl processes through
// the run record while apply waits; the pipeline's on_failure says when
// the run failed.
const gatedPipeline = `
pipeline "gated" {}
variable "timeout" {
  type    = string
  default = "1h"
}
variable "self" {
  type    = bool
  default = true
}
stage "build" {
  step "compile" { action = std.noop }
}
stage "deploy" {
  depends_on = [stage.build]
  approval {
    message             = "Deploy to prod?"
    timeout             = var.timeout
    allow_self_approval = var.self
  }
  step "release" { action = std.noop }
  on_failure {
    step "rollback" { action = std.noop }
  }
}
on_failure {
  step "notify" {
    action  = std.exec
    command = "echo"
    args    = ["deploy failed"]
  }
}
`

// as runs pipectl as a user (PIPECTL_USER).
func (p *project) as(user string, args ...string) (stdout, stderr string, code int) {
	p.t.Helper()
	saved := p.env
	p.env = append(append([]string{}, p.env...), "PIPECTL_USER="+user)
	defer func() { p.env = saved }()
	return p.run(args...)
}

// startApplyAs starts `pipectl apply -auto-approve -json ARGS` as a user,
// with its events on a channel as they come.
func startApplyAs(t *testing.T, p *project, user string, args ...string) (*exec.Cmd, <-chan engine.Event, *bytes.Buffer) {
	t.Helper()
	cmd := p.command(append([]string{"apply", "-auto-approve", "-json"}, args...)...)
	cmd.Env = append(cmd.Env, "PIPECTL_USER="+user)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ch := make(chan engine.Event, 100)
	record := streamBuffer()
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			record.Write(append(sc.Bytes(), '\n'))
			var e engine.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				ch <- e
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	return cmd, ch, &stderr
}

// waitingRun waits for the gate of deploy and returns the id of the run
// that waits there, as `pipectl runs` lists it.
func waitingRun(t *testing.T, p *project, ch <-chan engine.Event, seen *[]engine.Event) string {
	t.Helper()
	e := waitFor(t, ch, seen, func(e engine.Event) bool { return e.Type == engine.GateWaiting })
	if e.Gate != "stage.deploy" || e.GateKind != "approval" || e.Message != "Deploy to prod?" {
		t.Fatalf("gate_waiting: %+v", e)
	}
	// The record says so once flushed (at most 200 ms later).
	deadline := time.Now().Add(hangBound)
	for {
		out, _, _ := p.run("runs")
		if strings.Contains(out, "waiting for approval at stage.deploy") {
			return strings.Fields(strings.Split(out, "\n")[1])[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs does not show the run waiting:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestGateApprovedFromAnotherProcess(t *testing.T) {
	p := newProject(t, gatedPipeline)
	cmd, ch, stderr := startApplyAs(t, p, "alice")
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	if statusOf(seen, "compile") != engine.StatusSucceeded || statusOf(seen, "release") != "" {
		t.Fatalf("before approval: compile %s, release %s", statusOf(seen, "compile"), statusOf(seen, "release"))
	}
	show, _, _ := p.run("runs", "show", id)
	if !strings.Contains(show, "Started by alice.") || !strings.Contains(show, "Gate stage.deploy (approval): waiting — Deploy to prod?") ||
		!strings.Contains(show, "compile") {
		t.Fatalf("runs show while waiting:\n%s", show)
	}
	out, errOut, code := p.as("bob", "approve", id, "-yes", "-reason", "change ticket CHG-7")
	if code != 0 || !strings.Contains(out, "Approved stage.deploy of run "+id+" as bob.") {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errOut)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	if statusOf(seen, "release") != engine.StatusSucceeded {
		t.Fatalf("release: %s", statusOf(seen, "release"))
	}
	show, _, _ = p.run("runs", "show", id)
	if !strings.Contains(show, "Gate stage.deploy (approval): passed") || !strings.Contains(show, "approved by bob: change ticket CHG-7") {
		t.Fatalf("runs show after approval:\n%s", show)
	}
	js, _, _ := p.run("runs", "show", id, "-json")
	for _, want := range []string{`"started_by":"alice"`, `"decision":"approved"`, `"type":"gate_approved"`, `"type":"gate_planned"`} {
		if !strings.Contains(js, want) {
			t.Errorf("runs show -json lacks %s:\n%s", want, js)
		}
	}
	if _, errOut, code := p.as("bob", "approve", id); code != 1 || !strings.Contains(errOut, "is succeeded: only a running or parked run waits for approval") {
		t.Fatalf("approving a finished run: exit %d\n%s", code, errOut)
	}
}

func TestGateRejectedFailsTheRun(t *testing.T) {
	p := newProject(t, gatedPipeline)
	cmd, ch, stderr := startApplyAs(t, p, "alice")
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	if _, errOut, code := p.as("bob", "reject", id); code != 1 || !strings.Contains(errOut, "say why with -reason") {
		t.Fatalf("reject without a reason: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := p.as("bob", "reject", id, "-stage", "deploy", "-reason", "error budget spent"); code != 0 {
		t.Fatalf("reject: exit %d\n%s%s", code, out, errOut)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 6 {
		t.Fatalf("apply: exit %d, want 6\n%s", code, stderr)
	}
	// Nothing of deploy ran, so nothing is rolled back; the pipeline's
	// on_failure hears of it.
	for step, want := range map[string]engine.Status{"release": engine.StatusNotRun, "notify": engine.StatusSucceeded, "rollback": ""} {
		if got := statusOf(seen, step); got != want {
			t.Errorf("%s: %q, want %q", step, got, want)
		}
	}
	show, _, _ := p.run("runs", "show", id)
	if !strings.Contains(show, "Gate stage.deploy (approval): rejected — stage.deploy was rejected by bob: error budget spent") {
		t.Fatalf("runs show:\n%s", show)
	}
}

func TestGateTimeoutRunsTheFailureHandlers(t *testing.T) {
	p := newProject(t, gatedPipeline)
	out, errOut, code := p.as("alice", "apply", "-auto-approve", "-json", "-var", "timeout=1s")
	if code != 6 {
		t.Fatalf("apply: exit %d, want 6\n%s", code, errOut)
	}
	evs := events(t, out)
	timedOut := false
	for _, e := range evs {
		timedOut = timedOut || (e.Type == engine.GateTimedOut && strings.Contains(e.Message, "was not approved within 1s"))
	}
	if !timedOut || statusOf(evs, "notify") != engine.StatusSucceeded || statusOf(evs, "release") != engine.StatusNotRun {
		t.Fatalf("timed out %v, notify %s, release %s\n%s", timedOut, statusOf(evs, "notify"), statusOf(evs, "release"), out)
	}
	if !strings.Contains(out, `"gate_failure":{"gate":"stage.deploy","reason":"timed_out"`) {
		t.Fatalf("run_finished does not say which gate stopped the run:\n%s", out)
	}
}

func TestPreApprovalForCI(t *testing.T) {
	p := newProject(t, gatedPipeline)
	if out, errOut, code := p.run("plan", "-var", "self=false"); code != 0 ||
		!strings.Contains(out, "  ⏸ stage.deploy waits here before it starts:\n      approval: \"Deploy to prod?\" (1 approval; not by who applies; times out after 1h0m0s)") {
		t.Fatalf("plan does not show the gate: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := p.as("ci-bot", "apply", "-auto-approve", "-approve", "nosuch"); code != 1 ||
		!strings.Contains(errOut, "stage.nosuch has no approval gate in this plan (its approval gates: stage.deploy)") {
		t.Fatalf("-approve of an unknown stage: exit %d\n%s", code, errOut)
	}
	out, errOut, code := p.as("ci-bot", "apply", "-auto-approve", "-approve", "deploy")
	if code != 0 || !strings.Contains(out, "approved by ci-bot (1 of 1): approved ahead with apply -approve") {
		t.Fatalf("apply -approve: exit %d\n%s%s", code, out, errOut)
	}
}

func TestFourEyesRefusesSelfApproval(t *testing.T) {
	p := newProject(t, gatedPipeline)
	for _, cmd := range []string{"approve", "reject"} {
		if _, errOut, code := p.run(cmd); code != 1 || !strings.Contains(errOut, cmd+" needs RUN: the id of the run that waits, from `pipectl runs`") {
			t.Errorf("%s without RUN: exit %d, %s", cmd, code, errOut)
		}
	}
	// Approving ahead is a self-approval: refused before anything runs.
	if _, errOut, code := p.as("alice", "apply", "-auto-approve", "-var", "self=false", "-approve", "deploy"); code != 1 ||
		!strings.Contains(errOut, "needs the approval of someone other than who starts the run") {
		t.Fatalf("-approve on a four-eyes gate: exit %d\n%s", code, errOut)
	}
	if out, _, _ := p.run("runs"); strings.Contains(out, "gated") {
		t.Fatalf("a refused -approve started a run:\n%s", out)
	}
	cmd, ch, stderr := startApplyAs(t, p, "alice", "-var", "self=false")
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	if _, errOut, code := p.as("alice", "approve", id, "-yes"); code != 1 || !strings.Contains(errOut, "alice started this run and cannot approve it") {
		t.Fatalf("self-approval: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := p.as("bob", "approve", id, "-yes"); code != 0 {
		t.Fatalf("approve by bob: exit %d\n%s", code, errOut)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
}

// The CI job that starts a run names who triggered it (GITHUB_ACTOR):
// recorded as unverified, and under four eyes that person may not approve
// either (on the local backend, names are what PIPECTL_USER says).
func TestFourEyesRefusesTheCIActor(t *testing.T) {
	p := newProject(t, gatedPipeline)
	saved := p.env
	p.env = append(append([]string{}, p.env...), "GITHUB_ACTOR=alice")
	cmd, ch, stderr := startApplyAs(t, p, "ci-bot", "-var", "self=false")
	p.env = saved
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	if _, errOut, code := p.as("alice", "approve", id, "-yes"); code != 1 ||
		!strings.Contains(errOut, "alice started this run (the CI job that started it as ci-bot names alice as its actor) and cannot approve it") {
		t.Fatalf("the actor's approval: exit %d\n%s", code, errOut)
	}
	if show, _, _ := p.run("runs", "show", id); !strings.Contains(show, "Started by ci-bot, for alice (the CI job's actor, unverified).") {
		t.Errorf("runs show does not name the actor:\n%s", show)
	}
	if js, _, _ := p.run("runs", "show", id, "-json"); !strings.Contains(js, `"started_by_actor":"alice"`) {
		t.Errorf("runs show -json does not name the actor:\n%s", js)
	} else {
		checkJSONLines(t, js)
	}
	if _, errOut, code := p.as("bob", "approve", id, "-yes"); code != 0 {
		t.Fatalf("approve by bob: exit %d\n%s", code, errOut)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
}

// A window computed from now: a day that is not today, or a freeze that
// ends in a moment.
func windowPipeline(gate string) string {
	return fmt.Sprintf(`
pipeline "windowed" {}
stage "deploy" {
%s
  step "release" { action = std.noop }
}
`, gate)
}

func TestWindowFailsOutsideAndOverrideIsRecorded(t *testing.T) {
	notToday := strings.ToLower(time.Now().UTC().Add(48 * time.Hour).Weekday().String()[:3])
	p := newProject(t, windowPipeline(fmt.Sprintf(`
  window {
    days      = [%q]
    time_zone = "UTC"
  }
  outside_window = "fail"`, notToday)))
	out, errOut, code := p.run("plan")
	if code != 0 || !strings.Contains(out, "window: "+notToday+" 00:00-24:00 UTC") || !strings.Contains(out, "closed now: it may start at") {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = p.run("apply", "-auto-approve")
	if code != 6 || !strings.Contains(out, "outside the deploy windows") || !strings.Contains(out, "not run") {
		t.Fatalf("apply outside the window: exit %d, want 6\n%s%s", code, out, errOut)
	}
	out, errOut, code = p.as("oncall", "apply", "-auto-approve", "-override-window", "hotfix INC-42")
	if code != 0 || !strings.Contains(out, "let through by -override-window, by oncall: hotfix INC-42") {
		t.Fatalf("apply -override-window: exit %d\n%s%s", code, out, errOut)
	}
	list, _, _ := p.run("runs")
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	show, _, _ := p.run("runs", "show", id)
	if !strings.Contains(show, "window_overridden by oncall: hotfix INC-42") {
		t.Fatalf("runs show:\n%s", show)
	}
}

func TestWindowWaitsForAFreezeToEnd(t *testing.T) {
	p := newProject(t, `
variable "freeze_to" { type = string }
`+windowPipeline(`
  freeze {
    from   = "2000-01-01T00:00:00Z"
    to     = var.freeze_to
    reason = "release train"
  }`))
	// The freeze ends a few seconds after apply starts: decided now, not
	// when the project was set up, so a slow init cannot let it pass.
	to := time.Now().UTC().Add(5 * time.Second).Format(time.RFC3339)
	out, errOut, code := p.run("apply", "-auto-approve", "-json", "-var", "freeze_to="+to)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	evs := events(t, out)
	var waiting, started engine.Event
	for _, e := range evs {
		switch {
		case e.Type == engine.GateWaiting:
			waiting = e
		case e.Type == engine.StepStarted && e.Step == "release":
			started = e
		}
	}
	if waiting.GateKind != "window" || !strings.Contains(waiting.Message, "(release train)") || started.Time.Before(waiting.Until) {
		t.Fatalf("waiting %+v, release started %s", waiting, started.Time)
	}
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      int
	}{
		{"error before anything ran", `pipeline "x" {}
stage "s" {
  step "a" { action = std.nope }
}`, 1},
		{"failed before any change", `pipeline "x" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "false"
  }
  on_failure {
    step "tell" { action = std.noop }
  }
}`, 7},
		{"failed, left changed", `pipeline "x" {}
stage "s" {
  step "w" {
    action  = std.render
    content = "v2"
    output  = "w.txt"
  }
  step "a" {
    action     = std.exec
    command    = "false"
    depends_on = [step.w]
  }
}`, 4},
		{"failed and restored", `pipeline "x" {}
stage "s" {
  step "w" {
    action  = std.render
    content = "v2"
    output  = "w.txt"
  }
  step "a" {
    action     = std.exec
    command    = "false"
    depends_on = [step.w]
  }
  on_failure {
    step "undo" {
      action  = std.render
      content = "v1"
      output  = step.w.path
    }
  }
}`, 5},
		{"failed and the rollback failed too", `pipeline "x" {}
stage "s" {
  step "w" {
    action  = std.render
    content = "v2"
    output  = "w.txt"
  }
  step "a" {
    action     = std.exec
    command    = "false"
    depends_on = [step.w]
  }
}
on_failure {
  step "undo" {
    action  = std.render
    content = "v1"
    output  = "/proc/${step.w.path}"
  }
}`, 4},
		{"stopped at a gate", `pipeline "x" {}
stage "s" {
  approval { timeout = "1s" }
  step "a" { action = std.noop }
}`, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProject(t, c.src)
			if out, errOut, code := p.run("apply", "-auto-approve"); code != c.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.want, out, errOut)
			}
		})
	}
}

// On a terminal apply asks at the gate; typing yes approves, recorded as
// the user at the terminal. tmux is the terminal.
func TestTerminalAsksAtTheGate(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		needTmux(t)
	}
	p := newProject(t, gatedPipeline)
	socket := fmt.Sprintf("pipectl-test-gate-%d", os.Getpid())
	tm := func(args ...string) string {
		out, _ := exec.Command(tmux, append([]string{"-L", socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out)
	}
	t.Cleanup(func() { tm("kill-server") })
	tm("new-session", "-d", "-x", "160", "-y", "40", fmt.Sprintf("cd %s && env PIPECTL_PLUGIN_PATH=%s PIPECTL_USER=carol %s apply -auto-approve; echo EXIT=$?; sleep 120",
		p.dir, binDir, filepath.Join(binDir, "pipectl")))
	screen := waitScreen(t, tm, "Type yes to approve, no REASON to reject")
	if !strings.Contains(screen, "stage.deploy waits for approval") || strings.Contains(screen, "release") {
		t.Fatalf("screen at the gate:\n%s", screen)
	}
	tm("send-keys", "Enter") // a stray Enter asks again, it does not reject
	waitScreen(t, tm, "Type yes to approve stage.deploy, or no and why to reject it.")
	tm("send-keys", "yes", "Enter")
	screen = waitScreen(t, tm, "EXIT=")
	if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, "stage.deploy approved by carol (1 of 1): answered at the terminal") {
		t.Fatalf("final screen:\n%s", screen)
	}
}

func waitScreen(t *testing.T, tm func(...string) string, want string) string {
	t.Helper()
	var screen string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if screen = tm("capture-pane", "-p", "-J"); strings.Contains(screen, want) {
			return screen
		}
	}
	t.Fatalf("%q never showed; screen:\n%s", want, screen)
	return ""
}

func TestCancelWhileWaitingAtAGate(t *testing.T) {
	p := newProject(t, gatedPipeline)
	cmd, ch, stderr := startApplyAs(t, p, "alice")
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr)
	}
	if statusOf(seen, "release") != engine.StatusCancelled {
		t.Fatalf("release: %s", statusOf(seen, "release"))
	}
	show, _, _ := p.run("runs", "show", id)
	if !strings.Contains(show, "Gate stage.deploy (approval): cancelled — the run was cancelled while it waited") {
		t.Fatalf("runs show:\n%s", show)
	}
}
