package main_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The token of testdata/report/pipeline.hcl: a sensitive variable that a
// command prints and whose output ends up in a Markdown artifact.
const reportSecret = "s3cr3t-t0ken-4242"

// A failed and handled run, then everything pipectl can tell of it: the
// logs, the artifacts extracted, the HTML report. Each says what happened,
// and none holds the secret: not the outputs, not the files written, not
// the run database itself.
func TestRunLogsArtifactsAndReportOfAFailedRun(t *testing.T) {
	p := newProjectFrom(t, "testdata/report/pipeline.hcl")
	var said []string // everything pipectl printed
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := p.run(args...)
		said = append(said, out, errOut)
		if code != want {
			t.Fatalf("pipectl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}
	p.env = append(p.env, "PIPECTL_USER=ci-bot")
	run(4, "apply", "-auto-approve", "-no-color", "-approve", "deploy", "-report", "applied.html") // failed after writing RELEASE.md, which no handler restores

	logs := run(0, "runs", "logs", "latest")
	for _, want := range []string{"compile  │ compiling 12 packages", "compile  │ using token (sensitive value)",
		"── stage.deploy waits for approval: Roll out the release? ──", "── stage.deploy approved by ci-bot (1 of 1) ──",
		"── rollout: attempt 2 ──", "rollout  │ pod crashed", "rollback │ rolling back"} {
		if !strings.Contains(logs, want) {
			t.Errorf("runs logs lacks %q:\n%s", want, logs)
		}
	}
	one := run(0, "runs", "logs", "latest", "step.rollout", "-json")
	var lines int
	for _, l := range strings.Split(strings.TrimSpace(one), "\n")[1:] {
		var m struct{ Type, Step, Message string }
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.Type != "step_log" || m.Step != "rollout" {
			t.Errorf("runs logs RUN step.rollout -json printed %q", l)
		}
		lines++
	}
	if lines != 4 { // two lines in each of two attempts
		t.Errorf("runs logs of rollout: %d lines, want 4:\n%s", lines, one)
	}
	if _, errOut, code := p.run("runs", "logs", "latest", "rolout"); code != 1 || !strings.Contains(errOut, `no step "rolout"; its steps: compile, notes, rollout`) {
		t.Errorf("a misspelled step: exit %d, %s", code, errOut)
	}
	if _, errOut, code := p.run("runs", "logs"); code != 1 || !strings.Contains(errOut, "runs logs needs RUN: a run id from `pipectl runs`, or latest") {
		t.Errorf("runs logs without RUN: exit %d, %s", code, errOut)
	}
	if _, errOut, code := p.run("runs", "logs", "latest", "../elsewhere"); code != 1 || !strings.Contains(errOut, "../elsewhere is not a pipeline directory") {
		t.Errorf("a mistyped DIR: exit %d, %s", code, errOut)
	}

	listed := run(0, "runs", "artifacts", "latest", "-o", "extracted", "-json")
	var art struct {
		Step, Name, File string
		Kept             bool
	}
	for _, l := range strings.Split(strings.TrimSpace(listed), "\n")[1:] {
		if err := json.Unmarshal([]byte(l), &art); err != nil {
			t.Fatal(err)
		}
	}
	if art.Step != "notes" || art.Name != "RELEASE.md" || !art.Kept || art.File != filepath.Join("extracted", "notes", "RELEASE.md") {
		t.Fatalf("runs artifacts -json: %s", listed)
	}
	notes, err := os.ReadFile(filepath.Join(p.dir, art.File))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(notes), "# Release notes") || !strings.Contains(string(notes), "using token (sensitive value)") {
		t.Errorf("the extracted artifact:\n%s", notes)
	}

	if _, errOut, code := p.run("runs", "report", "nope", "-o", "nope.html"); code != 1 || strings.TrimSpace(errOut) != `Error: no run "nope": `+"`pipectl runs` lists them" {
		t.Errorf("the report of an unknown run: exit %d, %s", code, errOut)
	}
	run(0, "runs", "report", "latest", "-o", "report.html")
	if err := os.Mkdir(filepath.Join(p.dir, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(0, "runs", "report", "latest", "-o", "reports") // a directory: the file goes in it
	if found, _ := filepath.Glob(filepath.Join(p.dir, "reports", "pipectl-run-*.html")); len(found) != 1 {
		t.Errorf("runs report -o DIR wrote %v", found)
	}
	if _, errOut, code := p.run("runs", "report", "latest", "-o", "nodir/r.html"); code != 1 || !strings.Contains(errOut, "cannot write the report to nodir/r.html: no such file or directory") {
		t.Errorf("runs report -o into a missing directory: exit %d, %s", code, errOut)
	}
	for _, name := range []string{"applied.html", "report.html"} {
		checkReport(t, readFile(t, filepath.Join(p.dir, name)))
	}

	for _, f := range append(said, string(notes), readFile(t, filepath.Join(p.dir, "report.html")),
		readFile(t, filepath.Join(p.dir, "applied.html")), readFile(t, filepath.Join(p.dir, ".pipectl", "runs.db"))) {
		if strings.Contains(f, reportSecret) {
			t.Errorf("the secret leaked into:\n%.2000s", f)
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(p.dir, "RELEASE.md")), reportSecret) {
		t.Error("the test proves nothing: the rendered file does not hold the secret the artifact had")
	}
}

// checkReport checks what a report of testdata/report/pipeline.hcl shows.
func checkReport(t *testing.T, html string) {
	t.Helper()
	for _, want := range []string{
		`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;`,
		`id="run-status">failed</span>`,
		`<h3>On failure of stage deploy</h3>`, `<h3>Finally</h3>`,
		`<td>faster start</td>`,         // the Markdown artifact's table, rendered
		`using token (sensitive value)`, // its redacted build log
		`<span class="pipectl">── attempt 2 ──</span>`,
		`class="bar fail"`, `class="bar ok"`, // the timeline's attempts
		`⏸ stage.deploy`, `class="bar wait "`, // and the wait at the gate
		`<em>(sensitive value)</em>`, // the token among the plan's variables
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the report lacks %s", want)
		}
	}
	if n := strings.Count(html, `<details class="step `); n != 6 {
		t.Errorf("the report shows %d steps, want 6", n)
	}
	if strings.Contains(html, "<script>alert") {
		t.Error("the artifact's <script> reached the report")
	}
	if loads := regexp.MustCompile(`(?i)<(link|img|iframe)\b|\bsrc=|@import|url\(http`).FindAllString(html, -1); len(loads) > 0 {
		t.Errorf("the report loads something: %q", loads)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runs logs -f, from another process, prints a live run's lines as they
// are recorded, and ends when the run does. The step holds after line 2
// until the test has read it from -f: those lines were followed live, not
// read from a finished record, however slow the machine.
func TestRunsLogsFollowsALiveRun(t *testing.T) {
	p := newProject(t, `
pipeline "live" {}
stage "s" {
  step "count" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo line 1; echo line 2; until [ -e followed ]; do sleep 0.05; done; for i in 3 4 5; do echo line $i; sleep 0.2; done"]
  }
}`)
	apply := p.command("apply", "-auto-approve", "-no-color")
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	applied := make(chan struct{})
	go func() { _ = apply.Wait(); close(applied) }()
	t.Cleanup(func() { _ = apply.Process.Kill(); <-applied })

	deadline := time.Now().Add(hangBound)
	for {
		if _, _, code := p.run("runs", "logs", "latest"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run was never recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	follow := p.command("runs", "logs", "latest", "count", "-f")
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	// Were -f never to print line 2, the step would wait forever.
	hang := time.AfterFunc(hangBound, func() { _ = follow.Process.Kill(); _ = apply.Process.Kill() })
	defer hang.Stop()
	var got []string
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		got = append(got, sc.Text())
		if sc.Text() == "line 2" {
			select {
			case <-applied:
				t.Fatal("the run ended while its step waited")
			default:
			}
			if err := os.WriteFile(filepath.Join(p.dir, "followed"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := follow.Wait(); err != nil {
		t.Fatalf("runs logs -f: %v", err)
	}
	// -f ends once the record says the run ended; the apply process may
	// take a moment more to exit, so ask the record, not the process.
	if out, _, _ := p.run("runs"); !strings.Contains(out, "succeeded") {
		t.Errorf("runs logs -f ended before the run did:\n%s", out)
	}
	if strings.Join(got, ",") != "line 1,line 2,line 3,line 4,line 5" {
		t.Errorf("runs logs -f printed %q", got)
	}
}

// runs logs -f latest started while the apply still waits for its
// confirmation follows that run (known from its lock), not the newest
// recorded one, and waits for it to start.
func TestRunsLogsFollowsARunBeforeItIsRecorded(t *testing.T) {
	p := newProject(t, `
pipeline "live" {}
variable "tag" {
  type    = string
  default = "of the new run"
}
stage "s" {
  step "count" {
    action  = std.exec
    command = "echo"
    args    = ["line", var.tag]
  }
}`)
	if _, errOut, code := p.run("apply", "-auto-approve", "-no-color", "-var", "tag=of the old run"); code != 0 {
		t.Fatalf("the first apply: exit %d\n%s", code, errOut)
	}
	apply := p.command("apply", "-no-color")
	answer, err := apply.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = apply.Process.Kill(); _ = apply.Wait() })
	lock := filepath.Join(p.dir, ".pipectl", "locks", "pipeline.lock")
	for deadline := time.Now().Add(hangBound); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(lock); len(b) > 0 {
			break // the apply holds the lock: it plans, then asks
		}
		if time.Now().After(deadline) {
			t.Fatal("the apply never took its lock")
		}
	}
	follow := p.command("runs", "logs", "latest", "-f")
	var out strings.Builder
	follow.Stdout = &out
	stderr, err := follow.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = follow.Process.Kill() })
	// Answered once -f says it waits for the run (a fixed pause could end
	// before -f even started on a loaded machine).
	errOut := readUntil(t, stderr, "is being planned")
	_, _ = answer.Write([]byte("yes\n"))
	rest, _ := io.ReadAll(stderr)
	errOut += string(rest)
	if err := follow.Wait(); err != nil {
		t.Fatalf("runs logs -f: %v\n%s%s", err, out.String(), errOut)
	}
	list := listRuns(t, p)
	if len(list) != 2 || !strings.Contains(errOut, "Run "+list[0].ID+" is being planned") {
		t.Errorf("runs logs -f latest did not wait for the new run %s:\n%s", list[0].ID, errOut)
	}
	if got := strings.Count(out.String(), "line of the new run"); got != 1 || strings.Contains(out.String(), "old run") {
		t.Errorf("runs logs -f latest printed %d lines of the new run, want 1:\n%s", got, out.String())
	}
}
