package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/engine"
)

// A gate whose stage renders a file: the file's content is what the
// render step observes (its fingerprint) and what its change diffs.
func renderBehindGate(after string) string {
	return fmt.Sprintf(`
pipeline "moved" {}
stage "build" {
  step "compile" { action = std.noop }
}
stage "deploy" {
  %s
  approval { message = "Deploy to prod?" }
  step "config" {
    action  = std.render
    output  = "config.txt"
    content = "v2\n"
  }
}
`, after)
}

// Another deploy lands while the run waits at its gate: the approved plan
// no longer holds, so the run stops with the difference, recorded, and
// deploys nothing. Behind a stage that depends on nothing that ran the
// render step is compared by its fingerprint; after a stage that ran, by
// its change. When nothing moved, the run goes on.
func TestGateStopsWhenTheWorldMovedWhileWaiting(t *testing.T) {
	for _, c := range []struct {
		name, after, hotfix, want string
	}{
		{"fingerprint", "", "v1-hotfix\n", "step config (std.render) observes a change"},
		{"change", "depends_on = [stage.build]", "v1-hotfix\n", "step config (std.render) would do something else than what was approved"},
		{"nothing moved", "depends_on = [stage.build]", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProject(t, renderBehindGate(c.after))
			p.write("config.txt", "v1\n")
			planned, errOut, code := p.run("plan")
			if code != 0 {
				t.Fatalf("plan: exit %d\n%s", code, errOut)
			}
			cmd, ch, stderr := startApplyAs(t, p, "alice")
			var seen []engine.Event
			id := waitingRun(t, p, ch, &seen)
			if show, _, _ := p.run("runs", "show", id, "-plan"); show != planned {
				t.Errorf("runs show -plan is not the plan as plan printed it:\n%s\nplan printed:\n%s", show, planned)
			}
			// Nobody at a terminal to confirm: refused, saying what to do.
			if _, errOut, code := p.as("bob", "approve", id); code != 1 || !strings.Contains(errOut, "approve it with -yes: pipectl approve "+id+" -yes") {
				t.Fatalf("approve without -yes and no terminal: exit %d\n%s", code, errOut)
			}
			if c.hotfix != "" {
				p.write("config.txt", c.hotfix) // the other deploy
			}
			out, errOut, code := p.as("bob", "approve", id, "-yes")
			if code != 0 || !strings.Contains(out, planned) || !strings.Contains(out, "Approved stage.deploy of run "+id+" as bob.") {
				t.Fatalf("approve -yes: exit %d, it does not print the plan approved:\n%s%s", code, out, errOut)
			}
			drain(ch, &seen)
			got, _ := os.ReadFile(filepath.Join(p.dir, "config.txt"))
			if c.want == "" {
				if code := exitCode(cmd.Wait()); code != 0 || string(got) != "v2\n" {
					t.Fatalf("nothing moved: exit %d, config.txt %q\n%s", code, got, stderr)
				}
				return
			}
			if code := exitCode(cmd.Wait()); code != 6 {
				t.Fatalf("apply: exit %d, want 6 (stopped at a gate)\n%s", code, stderr)
			}
			if string(got) != c.hotfix || statusOf(seen, "config") != engine.StatusNotRun {
				t.Fatalf("the stale plan deployed: config.txt %q, config %s", got, statusOf(seen, "config"))
			}
			stale := false
			for _, e := range seen {
				stale = stale || (e.Type == engine.GateStale && strings.Contains(e.Message, c.want))
			}
			if !stale {
				t.Fatalf("no gate_stale event saying %q:\n%+v", c.want, seen)
			}
			show, _, _ := p.run("runs", "show", id)
			if !strings.Contains(show, "Gate stage.deploy (approval): stale — stage.deploy opened but nothing behind it ran: "+
				"the steps would not do what was approved (the world moved):") ||
				!strings.Contains(show, c.want) || !strings.Contains(show, "Plan again and have the new plan approved") {
				t.Fatalf("runs show does not record the difference:\n%s", show)
			}
			if js, _, _ := p.run("runs", "show", id, "-json"); !strings.Contains(js, `"type":"gate_stale"`) || !strings.Contains(js, `"status":"stale"`) {
				t.Fatalf("runs show -json:\n%s", js)
			}
		})
	}
}

// A run resumed after the world moved: the steps not run yet are planned
// again and compared with what was approved; the resume is refused,
// nothing runs. Once the world is back as planned, the resume runs.
func TestResumeRefusedWhenTheWorldMoved(t *testing.T) {
	p := newProject(t, `
pipeline "resumed" {}
stage "one" {
  step "build" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "test -f ready"]
  }
}
stage "two" {
  depends_on = [stage.one]
  step "config" {
    action  = std.render
    output  = "config.txt"
    content = "v2\n"
  }
}`)
	p.write("config.txt", "v1\n")
	// 7: the build fails before any step that changes the target ran.
	if _, errOut, code := p.run("apply", "-auto-approve"); code != 7 {
		t.Fatalf("first run: exit %d, want 7 (build fails before any change)\n%s", code, errOut)
	}
	list, _, _ := p.run("runs", "-json")
	var runsList []struct{ ID string }
	if err := runsJSON(list, &runsList); err != nil || len(runsList) != 1 {
		t.Fatalf("runs: %v %s", err, list)
	}
	failed := runsList[0].ID
	p.write("ready", "")
	p.write("config.txt", "v1-hotfix\n") // another deploy meanwhile

	out, errOut, code := p.run("apply", "-resume", failed)
	if code != 1 || !strings.Contains(errOut, "The run cannot be resumed as approved") ||
		!strings.Contains(errOut, "step config (std.render) would do something else than what was approved") {
		t.Fatalf("resume after the world moved: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(p.dir, "config.txt")); string(got) != "v1-hotfix\n" {
		t.Fatalf("a refused resume deployed: config.txt %q", got)
	}
	p.write("config.txt", "v1\n")
	if out, errOut, code := p.run("apply", "-resume", failed); code != 0 {
		t.Fatalf("resume once the world is as planned: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(p.dir, "config.txt")); string(got) != "v2\n" {
		t.Fatalf("config.txt %q after the resume", got)
	}
}

// At a terminal approve shows the plan it approves and asks: anything but
// yes approves nothing; yes approves. tmux is the terminal.
func TestApproveAsksAtTheTerminal(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		needTmux(t)
	}
	p := newProject(t, gatedPipeline)
	cmd, ch, stderr := startApplyAs(t, p, "alice")
	var seen []engine.Event
	id := waitingRun(t, p, ch, &seen)
	socket := fmt.Sprintf("pipectl-test-approve-%d", os.Getpid())
	tm := func(args ...string) string {
		out, _ := exec.Command(tmux, append([]string{"-L", socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out)
	}
	t.Cleanup(func() { tm("kill-server") })
	approve := fmt.Sprintf("cd %s && env PIPECTL_PLUGIN_PATH=%s PIPECTL_USER=bob %s approve %s", p.dir, binDir, filepath.Join(binDir, "pipectl"), id)
	tm("new-session", "-d", "-x", "160", "-y", "50", approve+"; echo EXIT=$?; "+approve+"; echo EXIT=$?; sleep 120")
	screen := waitScreen(t, tm, "Type yes to approve:")
	if !strings.Contains(screen, `pipectl will run pipeline "gated"`) || !strings.Contains(screen, "Approve stage.deploy of run "+id+", to run this plan?") {
		t.Fatalf("approve does not show the plan it approves:\n%s", screen)
	}
	tm("send-keys", "y", "Enter")
	waitScreen(t, tm, "not approved: nothing was recorded")
	if runs, _, _ := p.run("runs"); !strings.Contains(runs, "waiting for approval at stage.deploy") {
		t.Fatalf("after an answer other than yes the run should still wait at the gate:\n%s", runs)
	}
	tm("send-keys", "yes", "Enter")
	waitScreen(t, tm, "Approved stage.deploy of run "+id+" as bob.")
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 0 || statusOf(seen, "release") != engine.StatusSucceeded {
		t.Fatalf("apply: exit %d, release %s\n%s", code, statusOf(seen, "release"), stderr)
	}
}
