package main_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
)

// Nothing a step starts outlives the apply, whatever ends it: the step's
// timeout, a signal to pipectl (handled or SIGKILL), or a killed plugin.
// The step's shell ignores SIGTERM and so do its two background sleeps,
// which are grandchildren of the plugin. They are counted with ps.

// stubbornPipeline runs a step whose processes ignore SIGTERM; mark makes
// its sleeps' command lines unique to one test.
func stubbornPipeline(mark int, timeout string) string {
	t := ""
	if timeout != "" {
		t = fmt.Sprintf("timeout = %q", timeout)
	}
	return fmt.Sprintf(`
pipeline "e2e" {}
stage "work" {
  step "long" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "trap '' TERM; sleep %d1 & sleep %d2 & echo pid $PPID; while :; do echo tick; sleep 0.2; done"]
    %s
  }
  on_failure {
    step "rollback" {
      action  = std.exec
      command = "echo"
      args    = ["rolled back"]
    }
  }
}
finally {
  step "record" {
    action = std.noop
  }
}
`, mark, mark, t)
}

// uniqueMark makes a test's mark unique on the machine: ps sees every
// process, and another run of this suite (a second checkout, a CI job on
// the same host) runs the same tests at the same time. With a shared mark
// each run counted, and its clean-up killed, the other's sleeps.
func uniqueMark(base int) int {
	return base*10_000_000 + os.Getpid() // a pid is below 2^22
}

// leftovers lists the live processes (not zombies) running `sleep MARK1`
// or `sleep MARK2`.
func leftovers(t *testing.T, mark int) []string {
	t.Helper()
	out, err := exec.Command("ps", "-eo", "pid=,stat=,args=").Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(f[1], "Z") {
			continue
		}
		args := strings.Join(f[2:], " ")
		if args == fmt.Sprintf("sleep %d1", mark) || args == fmt.Sprintf("sleep %d2", mark) {
			found = append(found, line)
		}
	}
	return found
}

// noLeftovers fails unless the sleeps are gone, now or (for a SIGKILLed
// pipectl, whose plugin cleans up after it) within within.
func noLeftovers(t *testing.T, mark int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := leftovers(t, mark)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes the step started outlived the apply:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startedStubborn starts apply -json and waits until the step's sleeps run.
func startedStubborn(t *testing.T, mark int) (*project, *exec.Cmd, <-chan engine.Event, *[]engine.Event, int) {
	t.Helper()
	p := newProject(t, stubbornPipeline(mark, ""))
	cmd, ch, _ := startJSON(t, p)
	seen := &[]engine.Event{}
	log := waitFor(t, ch, seen, func(e engine.Event) bool { return e.Type == engine.StepLog && e.Step == "long" })
	t.Cleanup(func() { killLeftovers(mark) })
	waitSleeps(t, mark)
	return p, cmd, ch, seen, pidFrom(t, log)
}

// waitSleeps waits until the step's two sleeps run: the shell echoes its
// line right after forking them, and on a loaded machine a child may not
// have exec'd sleep yet when the line arrives.
func waitSleeps(t *testing.T, mark int) {
	t.Helper()
	deadline := time.Now().Add(hangBound)
	for n := len(leftovers(t, mark)); n != 2; n = len(leftovers(t, mark)) {
		if time.Now().After(deadline) {
			t.Fatalf("the step's two sleeps are not running (%d found)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killLeftovers keeps a failed test from leaving its sleeps behind.
func killLeftovers(mark int) {
	_ = exec.Command("pkill", "-KILL", "-x", "-f", fmt.Sprintf("sleep %d[12]", mark)).Run()
}

func TestStepTimeoutLeavesNothingRunning(t *testing.T) {
	mark := uniqueMark(3101)
	t.Cleanup(func() { killLeftovers(mark) })
	p := newProject(t, stubbornPipeline(mark, "1s"))
	out, errOut, code := p.run("apply", "-auto-approve")
	if code != 7 || !strings.Contains(out, "timed out after 1s") { // failed, nothing changed
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	noLeftovers(t, mark, 0)
}

// A step that timed out is reported only once what it started is gone:
// the host asks the plugin to cancel that one call and waits for its
// result (the TERM→KILL grace), so the next step never races a leftover.
func TestTimedOutStepIsReportedOnlyOnceItsProcessesAreGone(t *testing.T) {
	mark := uniqueMark(3109)
	t.Cleanup(func() { killLeftovers(mark) })
	p := newProject(t, stubbornPipeline(mark, "1s"))
	cmd, ch, _ := startJSON(t, p)
	var seen []engine.Event
	waitFor(t, ch, &seen, func(e engine.Event) bool { return e.Type == engine.StepFinished && e.Step == "long" })
	left := leftovers(t, mark)
	_ = cmd.Wait()
	if len(left) > 0 {
		t.Fatalf("the step was reported finished while its processes still ran:\n%s", strings.Join(left, "\n"))
	}
}

func TestSignalsToPipectlLeaveNothingRunning(t *testing.T) {
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			mark := uniqueMark(3111 + 10*i)
			_, cmd, ch, seen, _ := startedStubborn(t, mark)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			drain(ch, seen)
			if code := exitCode(cmd.Wait()); code != 130 {
				t.Fatalf("exit code %d, want 130 (cancelled)", code)
			}
			// Like Ctrl-C: the failure handlers and finally ran.
			for step, want := range map[string]engine.Status{"long": engine.StatusCancelled, "rollback": engine.StatusSucceeded, "record": engine.StatusSucceeded} {
				if got := statusOf(*seen, step); got != want {
					t.Errorf("%s: %s, want %s", step, got, want)
				}
			}
			noLeftovers(t, mark, 0)
		})
	}
}

func TestKilledPipectlLeavesNothingRunning(t *testing.T) {
	mark := uniqueMark(3141)
	_, cmd, ch, seen, pluginPID := startedStubborn(t, mark)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	drain(ch, seen)
	// The plugin learns of pipectl's death from the kernel (SIGTERM as its
	// parent-death signal) and kills everything its steps started.
	noLeftovers(t, mark, hangBound)
	deadline := time.Now().Add(hangBound)
	for syscall.Kill(pluginPID, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if syscall.Kill(pluginPID, 0) == nil {
		t.Errorf("the plugin (%d) outlived the killed pipectl", pluginPID)
	}
}

func TestKilledPluginLeavesNothingRunning(t *testing.T) {
	mark := uniqueMark(3151)
	_, cmd, ch, seen, pluginPID := startedStubborn(t, mark)
	if err := syscall.Kill(pluginPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	drain(ch, seen)
	if code := exitCode(cmd.Wait()); code != 7 {
		t.Fatalf("exit code %d, want 7 (failed, nothing changed; its handlers ran)", code)
	}
	if statusOf(*seen, "rollback") != engine.StatusSucceeded {
		t.Errorf("the failure handler did not run: %+v", *seen)
	}
	noLeftovers(t, mark, 0)
}

// A step's background job does not outlive the step, and does not keep
// the step waiting for its output either.
func TestStepBackgroundJobEndsWithTheStep(t *testing.T) {
	mark := uniqueMark(3161)
	t.Cleanup(func() { killLeftovers(mark) })
	p := newProject(t, fmt.Sprintf(`
pipeline "e2e" {}
stage "s" {
  step "spawn" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "sleep %d1 & echo started"]
  }
  step "look" {
    action     = std.exec
    command    = "sh"
    args       = ["-c", "ps -eo stat=,args= | grep -v '^Z' | grep -c '[s]leep %d1' || true"]
    depends_on = [step.spawn]
  }
}
output "left" {
  value = trimspace(step.look.stdout)
}`, mark, mark))
	// The sleep lasts hours: were the step to wait for it, apply would
	// hang, which runBounded reports.
	out, errOut, code := p.runBounded(hangBound, "the step waited for its background job", "apply", "-auto-approve", "-json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	evs := events(t, out)
	if got := evs[len(evs)-1].Outputs["left"]; got != "0" {
		t.Errorf("the next step still saw %v of the step's background sleeps", got)
	}
	noLeftovers(t, mark, 0)
}

// `pipectl apply | head -1`: the reader goes away; like Ctrl-C, the
// failure handlers and finally run, and nothing is left running.
func TestClosedOutputPipeCancelsLikeAnInterrupt(t *testing.T) {
	mark := uniqueMark(3171)
	t.Cleanup(func() { killLeftovers(mark) })
	p := newProject(t, stubbornPipeline(mark, ""))
	cmd := p.command("apply", "-auto-approve")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no tick before the output ended: %v", err)
		}
		if strings.Contains(line, "tick") {
			break
		}
	}
	stdout.Close() // as head does once it has its lines
	if code := exitCode(cmd.Wait()); code != 130 {
		t.Fatalf("exit code %d, want 130 (cancelled)", code)
	}
	run := onlyRecordedRun(t, p)
	if run.Status != "cancelled" || run.steps["rollback"] != "succeeded" || run.steps["record"] != "succeeded" {
		t.Errorf("record of the run: %+v", run)
	}
	noLeftovers(t, mark, 0)
}
