package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
)

// Issue 30, faults round 3. Each test fails on main at e65b3f1.

// ghostPlugin is a project whose one step uses plugin ghost, the given
// script (run in the project's directory).
func ghostPlugin(t *testing.T, script string) *project {
	t.Helper()
	p := newProject(t, onePipeline)
	plugins := filepath.Join(p.dir, ".pipectl", "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "pipectl-plugin-ghost"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = ghost.noop
  }
}`)
	return p
}

// pidIn reads a pid a script wrote, waiting for the file (bounded by
// hangBound, only a broken script exhausts it).
func pidIn(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(hangBound); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			return pid
		}
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// stillAlive says whether pid is alive for as long as a signal to it may
// take to land on a loaded machine: a hang bound, not a speed limit.
func stillAlive(pid int) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			return false
		}
	}
	return true
}

// Item 8: a plugin whose children keep its stdout open (a background
// sleep, a daemon in a session of its own) is given up on at its start
// timeout: its process group is killed and its pipes are no longer read,
// so pipectl ends (on main it waited for the children: minutes, or forever).
func TestPluginStartTimeoutEndsWhatItStarted(t *testing.T) {
	p := ghostPlugin(t, `#!/bin/sh
sleep 300 &
echo $! > child.pid
setsid sh -c 'echo $$ > daemon.pid; exec sleep 300' &
exec sleep 300
`)
	t.Cleanup(func() { _ = syscall.Kill(pidIn(t, filepath.Join(p.dir, "daemon.pid")), syscall.SIGKILL) })
	p.env = append(p.env, "PIPECTL_PLUGIN_START_TIMEOUT=1s")
	out, code := p.runWithin(hangBound, "init")
	if code != 1 || !strings.Contains(out, "did not complete its handshake within 1s") {
		t.Errorf("init with a plugin whose children hold its stdout: exit %d\n%s", code, out)
	}
	if child := pidIn(t, filepath.Join(p.dir, "child.pid")); stillAlive(child) {
		t.Errorf("the plugin's background child %d still runs after pipectl ended", child)
	}
}

// Item 8: Ctrl-C stops pipectl while a plugin is starting, whatever the
// start timeout and whatever holds the plugin's pipes.
func TestInterruptWhileAPluginStarts(t *testing.T) {
	p := ghostPlugin(t, `#!/bin/sh
sleep 300 &
echo $! > child.pid
exec sleep 300
`)
	p.env = append(p.env, "PIPECTL_PLUGIN_START_TIMEOUT=10m")
	cmd := p.command("init")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	child := pidIn(t, filepath.Join(p.dir, "child.pid"))
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if exitCode(err) == 0 {
			t.Error("init interrupted while its plugin starts exited 0")
		}
	case <-time.After(hangBound):
		_ = cmd.Process.Kill()
		t.Fatalf("init still ran %s after Ctrl-C while its plugin was starting", hangBound)
	}
	if stillAlive(child) {
		t.Errorf("the plugin's background child %d still runs after pipectl ended", child)
	}
}

// Item 6: a plugin that exits before its handshake is reported with its
// exit status and what it wrote on stderr, not go-plugin's "Unrecognized
// remote plugin message".
func TestPluginFailingAtStartSaysWhy(t *testing.T) {
	p := ghostPlugin(t, `#!/bin/sh
echo "ghost: cannot read /etc/ghost.conf: no such file" >&2
exit 7
`)
	out, code := p.runWithin(hangBound, "init")
	if code != 1 || !strings.Contains(out, "exited with status 7") ||
		!strings.Contains(out, "ghost: cannot read /etc/ghost.conf: no such file") ||
		strings.Contains(out, "Unrecognized remote plugin message") {
		t.Errorf("init with a plugin that exits 7 at start: exit %d\n%s", code, out)
	}
}

// Item 9: 100,000 nested "[" are refused at file:line with a diagnostic,
// by validate and fmt alike (on main: "fatal error: stack overflow" after
// a gigabyte of memory).
func TestDeepNestingIsADiagnostic(t *testing.T) {
	p := newProject(t, onePipeline)
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	p.write("pipeline.hcl", "pipeline \"e2e\" {}\n\nlocals { x = "+deep+" }\n")
	for _, args := range [][]string{{"validate"}, {"fmt", "-check"}} {
		out, code := p.runWithin(hangBound, args...)
		if code != 1 || !strings.Contains(out, "Nested too deeply") || !strings.Contains(out, "pipeline.hcl line 3") ||
			strings.Contains(out, "goroutine") || strings.Contains(out, "Missing pipeline block") {
			t.Errorf("%v of 100,000 nested [: exit %d\n%.2000s", args, code, out)
		}
	}
}

// Item 4: -target leaves out steps that outputs read; those outputs have
// no value, the plan says why, and the plan and its apply succeed (on
// main: "Attempt to get attribute from null value", exit 1).
func TestTargetWithOutputsOfLeftOutSteps(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action  = std.exec
    command = "true"
  }
  step "b" {
    action  = std.exec
    command = "true"
  }
}
output "a_code" {
  value = step.a.exit_code
}
output "b_code" {
  value = "b exited ${step.b.exit_code}"
}`)
	out, errOut, code := p.run("plan", "-target", "step.a", "-out", "a.plan")
	if code != 0 || !strings.Contains(out, "b_code: no value (reads step b, left out: not targeted (-target step.a))") ||
		!strings.Contains(out, "a_code = (known after apply)") {
		t.Fatalf("plan -target step.a: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = p.run("apply", "a.plan")
	if code != 0 || !strings.Contains(out, "a_code = 0") || strings.Contains(out, "b_code") ||
		strings.Contains(out+errOut, "could not be evaluated") {
		t.Errorf("apply of the -target plan: exit %d\n%s%s", code, out, errOut)
	}
}

// Item 3: approving twice is refused, exit 1, as the record says; of
// approvals by one person at the same moment, one counts and the others
// are refused and recorded (on main every one printed "Approved", exit 0).
func TestApprovingTwiceIsRefusedAsRecorded(t *testing.T) {
	p := newProject(t, strings.Replace(gatedPipeline, `message             = "Deploy to prod?"`,
		`message             = "Deploy to prod?"
    min_approvals       = 3`, 1))
	cmd, ch, stderr := startApplyAs(t, p, "alice")
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	if out, errOut, code := p.as("bob", "approve", id, "-yes"); code != 0 || !strings.Contains(out, "Approved stage.deploy") {
		t.Fatalf("first approval by bob: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := p.as("bob", "approve", id, "-yes")
	if code != 1 || strings.Contains(out, "Approved") || !strings.Contains(errOut, "refused: bob already approved") {
		t.Fatalf("second approval by bob: exit %d\n%s%s", code, out, errOut)
	}
	const n = 4
	var wg sync.WaitGroup
	codes := make([]int, n)
	outs := make([]string, n)
	for i := range n {
		wg.Go(func() {
			c := p.command("approve", id, "-yes")
			c.Env = append(c.Env, "PIPECTL_USER=carol")
			b, err := c.CombinedOutput()
			codes[i], outs[i] = exitCode(err), string(b)
		})
	}
	wg.Wait()
	approved := 0
	for i := range n {
		switch {
		case codes[i] == 0 && strings.Contains(outs[i], "Approved stage.deploy"):
			approved++
		case codes[i] == 1 && strings.Contains(outs[i], "refused: carol already approved"):
		default:
			t.Errorf("approval %d by carol at the same moment: exit %d\n%s", i, codes[i], outs[i])
		}
	}
	if approved != 1 {
		t.Errorf("%d of %d approvals by carol at the same moment said Approved; want 1", approved, n)
	}
	// The gate still waits (2 of 3): every answer is read and recorded.
	if out, errOut, code := p.as("dave", "approve", id, "-yes"); code != 0 {
		t.Fatalf("approval by dave: exit %d\n%s%s", code, out, errOut)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	show, _, _ := p.run("runs", "show", id)
	if got := strings.Count(show, "refused by bob (bob already approved"); got != 1 {
		t.Errorf("runs show has %d refusals of bob's second approval; want 1:\n%s", got, show)
	}
	if got := strings.Count(show, "approved by carol"); got != 1 {
		t.Errorf("runs show has %d approvals by carol; want 1:\n%s", got, show)
	}
	if got := strings.Count(show, "refused by carol (carol already approved"); got != n-1 {
		t.Errorf("runs show has %d refusals of carol's other approvals; want %d:\n%s", got, n-1, show)
	}
}
