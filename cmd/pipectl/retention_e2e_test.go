package main_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each run prints 3 MB; the record keeps 2 MiB of it in its events. A held run waits for
// the file "release" in the pipeline's directory.
const growingPipeline = `
pipeline "grow" {}
variable "hold" {
  type    = bool
  default = false
}
environment "dev" {}
environment "prod" {}
stage "s" {
  step "big" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "i=0; while [ $i -lt 3000 ]; do printf '%0999d\\n' $i; i=$((i+1)); done; ${var.hold ? "until [ -e release ]; do sleep 0.05; done" : "true"}"]
  }
}`

func (p *project) mustRun(args ...string) string {
	p.t.Helper()
	out, errOut, code := p.runBounded(hangBound*2, "a hang", args...)
	if code != 0 {
		p.t.Fatalf("pipectl %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

func (p *project) dbSize() int64 {
	p.t.Helper()
	info, err := os.Stat(filepath.Join(p.dir, ".pipectl", "runs.db"))
	if err != nil {
		p.t.Fatal(err)
	}
	return info.Size()
}

// newestRun is the id of the newest recorded run.
func (p *project) newestRun() string {
	p.t.Helper()
	lines := strings.Split(p.mustRun("runs"), "\n")
	if len(lines) < 2 {
		p.t.Fatal("no run recorded")
	}
	return strings.Fields(lines[1])[0]
}

// Issue 30 item 10 (main at 03b9d15: runs prune kept N in all, and
// runs.db never shrank). runs prune keeps N finished runs per environment,
// never the run going on, and compacts only when no run is active; a
// `runs logs -f` reading meanwhile gets every line.
func TestRunsPruneKeepsPerEnvironmentAndCompactsBesideAFollower(t *testing.T) {
	p := newProject(t, growingPipeline)
	for range 3 {
		p.mustRun("apply", "-env", "dev", "-auto-approve")
	}
	kept := p.newestRun() // dev's newest: every prune keeps it
	want := p.mustRun("runs", "logs", kept, "big")
	p.mustRun("apply", "-env", "prod", "-auto-approve")

	held := p.command("apply", "-env", "prod", "-var", "hold=true", "-auto-approve")
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	heldDone := make(chan error, 1)
	go func() { heldDone <- held.Wait() }()
	t.Cleanup(func() { _ = held.Process.Kill() })
	deadline := time.Now().Add(hangBound)
	for !strings.Contains(p.mustRun("runs"), "running") {
		if time.Now().After(deadline) {
			t.Fatal("the held run never showed as running")
		}
		time.Sleep(100 * time.Millisecond)
	}
	live := p.newestRun()
	var followed bytes.Buffer
	follow := p.command("runs", "logs", live, "big", "-f")
	follow.Stdout = &followed
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followDone := make(chan error, 1)
	go func() { followDone <- follow.Wait() }()

	before := p.dbSize()
	out := p.mustRun("runs", "prune", "-keep", "1")
	if !strings.Contains(out, "Deleted 2 runs; kept 3") || !strings.Contains(out, "Not compacted") ||
		!strings.Contains(out, live) || !strings.Contains(out, `environment "prod"`) {
		t.Errorf("runs prune while run %s goes on:\n%s", live, out)
	}
	if p.dbSize() < before {
		t.Errorf("runs.db was compacted while run %s held its lock", live)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, done := range map[string]chan error{"the held apply": heldDone, "runs logs -f": followDone} {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case <-time.After(hangBound):
			t.Fatalf("%s did not end", name)
		}
	}
	if after := p.mustRun("runs", "logs", live, "big"); followed.String() != after || !strings.Contains(after, "2999") {
		t.Errorf("runs logs -f printed %d bytes, the record holds %d", followed.Len(), len(after))
	}

	// No run is active: prune compacts, while another follower reads.
	var reread bytes.Buffer
	follow = p.command("runs", "logs", kept, "big", "-f")
	follow.Stdout = &reread
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	before = p.dbSize()
	out = p.mustRun("runs", "prune", "-keep", "1")
	if err := follow.Wait(); err != nil {
		t.Fatalf("runs logs -f beside the compaction: %v", err)
	}
	if reread.String() != want {
		t.Errorf("runs logs -f beside the compaction printed %d bytes, want %d", reread.Len(), len(want))
	}
	if !strings.Contains(out, "Deleted 1 run; kept 2") || !strings.Contains(out, "Compacted") {
		t.Errorf("runs prune with no run going on:\n%s", out)
	}
	// Three runs of over 2 MiB each were deleted: the file gives their space back.
	if after := p.dbSize(); after > before-4<<20 {
		t.Errorf("runs.db is %d bytes after compaction, was %d", after, before)
	}
	if got := p.mustRun("runs", "logs", kept, "big"); got != want {
		t.Errorf("after compaction, run %s's logs are %d bytes, were %d", kept, len(got), len(want))
	}

	// A size cap: of two runs of 5.6 MB each (its output is kept in its
	// events, its step's outputs and its value), 8 MiB keeps the newer.
	out = p.mustRun("runs", "prune", "-keep", "5", "-max-size", "8MiB")
	if !strings.Contains(out, "Deleted 1 run; kept 1") {
		t.Errorf("runs prune -max-size 8MiB:\n%s", out)
	}
	if list := p.mustRun("runs"); !strings.Contains(list, live) || strings.Contains(list, kept) {
		t.Errorf("the size cap did not keep the newest run %s:\n%s", live, list)
	}
	if _, errOut, code := p.run("runs", "prune", "-max-size", "lots"); code != 1 || !strings.Contains(errOut, `"lots" is not a size`) {
		t.Errorf("-max-size lots: exit %d\n%s", code, errOut)
	}
}

// Issue 30 item 7 (main at 03b9d15: a pruned run took its plan's
// single-use mark with it, and nothing warned when the record could not
// know). The mark outlives prune; a record younger than the plan says it
// cannot tell.
func TestSavedPlanSingleUseOutlivesPruneAndWarnsWhenTheRecordCannotTell(t *testing.T) {
	p := newProject(t, `
pipeline "once" {}
stage "s" {
  step "a" { action = std.noop }
}`)
	const cannotTell = "Cannot tell whether this plan was applied before"
	p.mustRun("plan", "-out", "first.plan")
	if out, errOut, code := p.run("apply", "first.plan"); code != 0 || !strings.Contains(errOut+out, cannotTell) {
		t.Fatalf("a plan made before the record existed: exit %d, no warning\n%s%s", code, out, errOut)
	}
	p.mustRun("plan", "-out", "second.plan")
	if out, errOut, code := p.run("apply", "second.plan"); code != 0 || strings.Contains(errOut+out, cannotTell) {
		t.Fatalf("a plan made after the record existed: exit %d\n%s%s", code, out, errOut)
	}
	p.mustRun("runs", "prune", "-keep", "0")
	if out := p.mustRun("runs"); strings.Contains(out, "succeeded") {
		t.Fatalf("runs prune -keep 0 kept runs:\n%s", out)
	}
	if _, errOut, code := p.run("apply", "second.plan"); code != 1 || !strings.Contains(errOut, "was already applied") ||
		!strings.Contains(errOut, "no longer in the record (pruned)") {
		t.Errorf("a saved plan whose run was pruned: exit %d\n%s", code, errOut)
	}
	// A fresh workspace's record cannot know: it applies, and says so.
	if err := os.Rename(filepath.Join(p.dir, ".pipectl", "runs.db"), filepath.Join(p.dir, "moved.db")); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := p.run("apply", "second.plan"); code != 0 || !strings.Contains(errOut+out, cannotTell) {
		t.Errorf("a saved plan applied with a new record: exit %d\n%s%s", code, out, errOut)
	}
}
