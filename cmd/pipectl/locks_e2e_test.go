package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runTimes is a run of `pipectl runs -json` with its times.
type runTimes struct {
	ID            string
	Status        string
	Environment   string
	Started       time.Time
	Finished      time.Time
	ForceUnlocked *struct {
		By     string
		Reason string
		Holder struct{ Run string }
	} `json:"force_unlocked"`
}

func runsWithTimes(t *testing.T, p *project) []runTimes {
	t.Helper()
	out, errOut, code := p.run("runs", "-json")
	var list []runTimes
	if strings.TrimSpace(out) == "" && code == 0 {
		return nil // no run yet
	}
	if err := runsJSON(out, &list); code != 0 || err != nil {
		t.Fatalf("runs -json: exit %d %v\n%s", code, err, errOut)
	}
	return list
}

// waitRunning waits until pipectl runs shows n runs in progress.
func waitRunning(t *testing.T, p *project, n int) []runTimes {
	t.Helper()
	for deadline := time.Now().Add(hangBound); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var running []runTimes
		for _, r := range runsWithTimes(t, p) {
			if r.Status == "running" {
				running = append(running, r)
			}
		}
		if len(running) == n {
			return running
		}
	}
	t.Fatalf("never saw %d runs in progress", n)
	return nil
}

const sleepPipeline = `
pipeline "e2e" {}
variable "pause" {
  type    = string
  default = "4s"
}
environment "dev" {}
environment "prod" {}
stage "s" {
  step "pause" {
    action   = std.sleep
    duration = var.pause
  }
}`

// handshakePipeline's step creates the file var.touch, then waits for the file
// var.await: a test decides when a run ends, or makes two runs wait for
// each other, rather than guessing with sleeps how long things take.
const handshakePipeline = `
pipeline "e2e" {}
variable "touch" {
  type = string
}
variable "await" {
  type = string
}
environment "dev" {}
environment "prod" {}
stage "s" {
  step "pause" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "touch \"$TOUCH\"; until [ -e \"$AWAIT\" ]; do sleep 0.05; done"]
    env     = { TOUCH = var.touch, AWAIT = var.await }
  }
}`

// handshake returns the -var flags for handshakePipeline.
func handshake(touch, await string) []string {
	return []string{"-var", "touch=" + touch, "-var", "await=" + await}
}

// Two applies of one environment: the second waits (-lock-timeout) for
// the first and runs after it; one that may not wait that long fails,
// naming the holder; a live holder's lock cannot be broken. The first
// holds the lock until the test has seen the second wait.
func TestAppliesOfOneEnvironmentSerializeWithLockTimeout(t *testing.T) {
	p := newProject(t, handshakePipeline)
	release := filepath.Join(p.dir, "release-first")
	first := p.command(append([]string{"apply", "-env", "dev", "-auto-approve"}, handshake(filepath.Join(p.dir, "first-ran"), release)...)...)
	var firstErr strings.Builder
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Process.Kill(); _ = first.Wait() })
	holder := waitRunning(t, p, 1)[0]

	now := filepath.Join(p.dir, "now")
	_, errOut, code := p.run(append([]string{"apply", "-env", "dev", "-auto-approve", "-lock-timeout", "300ms"}, handshake(now, now)...)...)
	for _, want := range []string{"run " + holder.ID, fmt.Sprintf("pid %d", first.Process.Pid), "user ", "host ", "started ", "waited 300ms"} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("an apply that may wait 300ms: exit %d, no %q in\n%s", code, want, errOut)
		}
	}
	if _, errOut, code := p.run("force-unlock", holder.ID, "-force"); code != 1 || !strings.Contains(errOut, "is alive") {
		t.Errorf("force-unlock of a live run: exit %d\n%s", code, errOut)
	}

	waiting := p.command(append([]string{"apply", "-env", "dev", "-auto-approve", "-lock-timeout", "2m"}, handshake(now, now)...)...)
	var waitingOut strings.Builder
	waiting.Stdout = &waitingOut
	stderr, err := waiting.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := waiting.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = waiting.Process.Kill() })
	wantWait := "Waiting up to 2m0s for the lock of environment \"dev\", held by run " + holder.ID
	errLines := readUntil(t, stderr, wantWait)
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first apply: %v\n%s", err, firstErr.String())
	}
	rest, _ := io.ReadAll(stderr)
	if err := waiting.Wait(); err != nil {
		t.Fatalf("the waiting apply: %v\n%s%s%s", err, waitingOut.String(), errLines, rest)
	}
	list := runsWithTimes(t, p) // newest first
	if len(list) != 2 || list[1].ID != holder.ID || list[0].Status != "succeeded" || list[1].Status != "succeeded" {
		t.Fatalf("runs: %+v", list)
	}
	t.Logf("the waiting apply's run started %s after the first run finished", list[0].Started.Sub(list[1].Finished))
	if list[0].Started.Before(list[1].Finished) {
		t.Errorf("the second run started at %s, before the first finished at %s", list[0].Started, list[1].Finished)
	}
}

// readUntil reads lines from r until one contains want, and returns what
// it read; it fails the test if r ends first (bounded by hangBound).
func readUntil(t *testing.T, r io.Reader, want string) string {
	t.Helper()
	found := make(chan bool, 1)
	var read strings.Builder
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			read.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), want) {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("no %q in\n%s", want, read.String())
		}
		return read.String()
	case <-time.After(hangBound):
		t.Fatalf("no %q within %s", want, hangBound)
		return ""
	}
}

// Applies of two environments of one pipeline run at the same time: each
// run's step waits for the other's to have started (were one environment
// to wait for the other, both would hang until hangBound).
func TestTwoEnvironmentsApplyAtOnce(t *testing.T) {
	p := newProject(t, handshakePipeline)
	started := func(env string) string { return filepath.Join(p.dir, env+"-started") }
	done := make(chan string, 2)
	for env, other := range map[string]string{"dev": "prod", "prod": "dev"} {
		go func() {
			args := append([]string{"apply", "-env", env, "-auto-approve"}, handshake(started(env), started(other))...)
			ctx, cancel := context.WithTimeout(context.Background(), hangBound)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binDir, "pipectl"), args...)
			cmd.Dir, cmd.Env = p.dir, p.env
			out, err := cmd.CombinedOutput()
			if err != nil {
				done <- fmt.Sprintf("%s: %v (killed after %s: the environments did not apply at once?)\n%s", env, err, hangBound, out)
				return
			}
			done <- ""
		}()
	}
	for range 2 {
		if msg := <-done; msg != "" {
			t.Fatal(msg)
		}
	}
	list := runsWithTimes(t, p)
	if len(list) != 2 {
		t.Fatalf("runs: %+v", list)
	}
	a, b := list[0], list[1]
	if a.Environment == b.Environment || !a.Started.Before(b.Finished) || !b.Started.Before(a.Finished) {
		t.Errorf("the two environments did not apply at once: %+v", list)
	}
}

// A pipectl killed with SIGKILL leaves its lock stale: the next apply is
// refused and names it, until force-unlock breaks it (recorded).
func TestStaleLockIsReportedAndBrokenWithForceUnlock(t *testing.T) {
	p := newProject(t, strings.Replace(sleepPipeline, `default = "4s"`, `default = "60s"`, 1))
	cmd := p.command("apply", "-env", "dev", "-auto-approve", "-json")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := stdout.Read(buf); err != nil {
				return
			}
		}
	}()
	killed := waitRunning(t, p, 1)[0]
	_ = cmd.Process.Kill() // SIGKILL: no Release
	_ = cmd.Wait()

	_, errOut, code := p.run("apply", "-env", "dev", "-auto-approve", "-var", "pause=10ms", "-lock-timeout", "5s")
	for _, want := range []string{"stale", "run " + killed.ID, "pipectl force-unlock " + killed.ID} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("apply after a killed apply: exit %d, no %q in\n%s", code, want, errOut)
		}
	}
	if _, errOut, code := p.run("apply", "-env", "prod", "-auto-approve", "-var", "pause=10ms"); code != 0 {
		t.Errorf("another environment is not locked: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := p.run("force-unlock", "nope", "-force"); code != 1 || !strings.Contains(errOut, "locks name: "+killed.ID) {
		t.Errorf("force-unlock of an unknown run: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := p.run("force-unlock", killed.ID); code != 1 || !strings.Contains(errOut, "-force") {
		t.Errorf("force-unlock without a terminal or -force: exit %d\n%s", code, errOut)
	}
	// On a terminal it asks; anything but yes keeps the lock.
	term := p.command()
	term.Path, term.Args = "/usr/bin/script", []string{"script", "-qec", filepath.Join(binDir, "pipectl") + " force-unlock " + killed.ID, "/dev/null"}
	term.Stdin = strings.NewReader("no\n")
	asked, _ := term.CombinedOutput()
	if code := term.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(asked), "Do you want to break it?") || !strings.Contains(string(asked), "Not unlocked.") {
		t.Errorf("force-unlock on a terminal, answered no: exit %d\n%s", code, asked)
	}
	out, errOut, code := p.run("force-unlock", killed.ID, "-force", "-reason", "the runner was lost")
	if code != 0 || !strings.Contains(out, "Unlocked environment \"dev\"") || !strings.Contains(out, "recorded in the run's record") {
		t.Fatalf("force-unlock -force: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := p.run("apply", "-env", "dev", "-auto-approve", "-var", "pause=10ms"); code != 0 {
		t.Errorf("apply after force-unlock: exit %d\n%s", code, errOut)
	}
	if show, _, _ := p.run("runs", "show", killed.ID); !strings.Contains(show, "broke the lock (pipectl force-unlock)") ||
		!strings.Contains(show, ": the runner was lost.") {
		t.Errorf("runs show does not say the lock was broken:\n%s", show)
	}
	for _, r := range runsWithTimes(t, p) {
		if r.ID != killed.ID {
			continue
		}
		if r.Status != "interrupted" || r.ForceUnlocked == nil || r.ForceUnlocked.Holder.Run != killed.ID || r.ForceUnlocked.By == "" ||
			r.ForceUnlocked.Reason != "the runner was lost" {
			t.Errorf("the killed run's record: %+v", r)
		}
	}
}
