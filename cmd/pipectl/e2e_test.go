package main_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/testbin"
	"github.com/pipectl/pipectl/internal/view"
)

// End-to-end tests: the real pipectl binary and the real std plugin, as a
// user runs them.

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pipectl-e2e")
	if err != nil {
		panic(err)
	}
	binDir = dir
	for out, src := range map[string]string{
		"pipectl":            "cmd/pipectl",
		"pipectl-plugin-std": "plugins/std",
	} {
		if err := testbin.Build(filepath.Join(dir, out), src); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if problems := checkStreamed(); len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "streamed -json output breaks the contract:\n%s\n", strings.Join(problems, "\n"))
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

type project struct {
	t   *testing.T
	dir string
	env []string
}

// newProject writes a pipeline into a fresh directory and runs pipectl init.
func newProject(t *testing.T, src string) *project {
	t.Helper()
	p := &project{t: t, dir: t.TempDir()}
	p.env = append(os.Environ(), "PIPECTL_PLUGIN_PATH="+binDir, "NO_COLOR=1")
	// A CI system's actor (GITHUB_ACTOR...) would be recorded beside the
	// starter and change what runs show prints: the tests set their own.
	for _, v := range []string{"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "CIRCLE_USERNAME", "BUILDKITE_BUILD_CREATOR", "BUILD_REQUESTEDFOR", "BITBUCKET_STEP_TRIGGERER_UUID", "BUILD_USER_ID"} {
		p.env = append(p.env, v+"=")
	}
	p.write("pipeline.hcl", src)
	if out, errOut, code := p.run("init"); code != 0 {
		t.Fatalf("init: %d\n%s%s", code, out, errOut)
	}
	return p
}

// newProjectFrom is newProject with a pipeline from testdata.
func newProjectFrom(t *testing.T, file string) *project {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return newProject(t, string(src))
}

// pidFrom reads the plugin pid that a step printed as "pid N".
func pidFrom(t *testing.T, log engine.Event) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(log.Message, "pid "))
	if err != nil || pid <= 0 {
		t.Fatalf("no plugin pid in %q", log.Message)
	}
	return pid
}

func (p *project) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "pipectl"), args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	return cmd
}

// hangBound bounds a wait that only a hang exhausts: far above what a
// loaded machine needs, never a speed requirement (benchmarks measure speed).
const hangBound = 60 * time.Second

func (p *project) run(args ...string) (stdout, stderr string, code int) {
	p.t.Helper()
	return p.runBounded(0, "", args...)
}

// runBounded is run that kills pipectl and fails the test, saying hang,
// if pipectl still runs after d (0: no bound).
func (p *project) runBounded(d time.Duration, hang string, args ...string) (stdout, stderr string, code int) {
	p.t.Helper()
	var out, errOut bytes.Buffer
	cmd := p.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	var hung atomic.Bool
	if d > 0 {
		timer := time.AfterFunc(d, func() { hung.Store(true); _ = cmd.Process.Kill() })
		defer timer.Stop()
	}
	err := cmd.Wait()
	if hung.Load() {
		p.t.Fatalf("pipectl %v still ran after %s: %s\n%s%s", args, d, hang, out.String(), errOut.String())
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		p.t.Fatal(err)
	}
	if isJSON(args) {
		checkJSONLines(p.t, out.String())
	}
	return out.String(), errOut.String(), code
}

// events decodes a -json event stream.
func events(t *testing.T, stream string) []engine.Event {
	t.Helper()
	var out []engine.Event
	for _, line := range strings.Split(strings.TrimSpace(stream), "\n") {
		var e engine.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON event: %q", line)
		}
		out = append(out, e)
	}
	return out
}

// runsJSON decodes the run messages of `pipectl runs -json` into list.
// recordedRun is a run as `pipectl runs -json` lists it, with its steps'
// statuses by name.
type recordedRun struct {
	ID      string
	Status  string
	Outcome string
	Steps   []struct{ Step, Status string }
	steps   map[string]string
}

// onlyRecordedRun is the one run the project's record holds.
func onlyRecordedRun(t *testing.T, p *project) recordedRun {
	t.Helper()
	out, errOut, code := p.run("runs", "-json")
	if code != 0 {
		t.Fatalf("runs: %s", errOut)
	}
	var list []recordedRun
	if err := runsJSON(out, &list); err != nil || len(list) != 1 {
		t.Fatalf("runs -json: %v\n%s", err, out)
	}
	run := list[0]
	run.steps = map[string]string{}
	for _, s := range run.Steps {
		run.steps[s.Step] = s.Status
	}
	return run
}

func runsJSON(out string, list any) error {
	var raw []json.RawMessage
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m struct{ Type string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return err
		}
		if m.Type == "run" {
			raw = append(raw, json.RawMessage(line))
		}
	}
	b, _ := json.Marshal(raw)
	return json.Unmarshal(b, list)
}

func statusOf(evs []engine.Event, step string) engine.Status {
	for _, e := range evs {
		if e.Type == engine.StepFinished && e.Step == step {
			return e.Status
		}
	}
	return ""
}

// onePipeline is the smallest pipeline: one noop step.
const onePipeline = `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = std.noop
  }
}`

const handlersPipeline = `
pipeline "e2e" {}
stage "work" {
  step "long" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo pid $PPID; exec sleep 60"]
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
`

// startJSON starts `pipectl apply -json` and returns the command and a
// channel of its events as they come.
func startJSON(t *testing.T, p *project) (*exec.Cmd, <-chan engine.Event, *bytes.Buffer) {
	t.Helper()
	cmd := p.command("apply", "-auto-approve", "-json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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

// waitFor reads events until one matches, collecting them all.
func waitFor(t *testing.T, ch <-chan engine.Event, seen *[]engine.Event, match func(engine.Event) bool) engine.Event {
	t.Helper()
	timeout := time.After(hangBound)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("the event stream ended first: %+v", *seen)
			}
			*seen = append(*seen, e)
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting; events so far: %+v", *seen)
		}
	}
}

func drain(ch <-chan engine.Event, seen *[]engine.Event) {
	for e := range ch {
		*seen = append(*seen, e)
	}
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return 0
}

func TestInterruptCancelsRunningStepsAndRunsHandlers(t *testing.T) {
	p := newProject(t, handlersPipeline)
	cmd, ch, stderr := startJSON(t, p)
	var seen []engine.Event
	log := waitFor(t, ch, &seen, func(e engine.Event) bool { return e.Type == engine.StepLog && e.Step == "long" })
	pluginPID := pidFrom(t, log)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 130 {
		t.Fatalf("exit code %d, want 130; stderr %s", code, stderr)
	}
	for step, want := range map[string]engine.Status{"long": engine.StatusCancelled, "rollback": engine.StatusSucceeded, "record": engine.StatusSucceeded} {
		if got := statusOf(seen, step); got != want {
			t.Errorf("%s: %s, want %s", step, got, want)
		}
	}
	// The plugin's process group ended with the run: no orphaned sleep.
	if syscall.Kill(pluginPID, 0) == nil {
		t.Errorf("plugin process %d still alive after the run", pluginPID)
	}
}

func TestKilledPluginFailsItsStepAndHandlersStillRun(t *testing.T) {
	p := newProject(t, handlersPipeline)
	cmd, ch, stderr := startJSON(t, p)
	var seen []engine.Event
	log := waitFor(t, ch, &seen, func(e engine.Event) bool { return e.Type == engine.StepLog && e.Step == "long" })
	pid := pidFrom(t, log)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 7 {
		t.Fatalf("exit code %d, want 7 (failed, nothing changed: the step only runs a command); stderr %s", code, stderr)
	}
	if got := statusOf(seen, "long"); got != engine.StatusFailed {
		t.Errorf("long: %s, want failed", got)
	}
	for _, e := range seen {
		if e.Type == engine.StepFinished && e.Step == "long" && !strings.Contains(e.Message, "exited") {
			t.Errorf("failure message does not say the plugin died: %q", e.Message)
		}
	}
	if statusOf(seen, "rollback") != engine.StatusSucceeded || statusOf(seen, "record") != engine.StatusSucceeded {
		t.Errorf("handlers did not run on a fresh plugin: %+v", seen)
	}
}

// lockedPluginCopy installs a copy of the std plugin in the project's
// .pipectl/plugins and locks it; it returns the copy's path and content.
func lockedPluginCopy(t *testing.T, p *project) (string, []byte) {
	t.Helper()
	plugins := filepath.Join(p.dir, ".pipectl", "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(binDir, "pipectl-plugin-std"))
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(plugins, "pipectl-plugin-std")
	if err := os.WriteFile(copyPath, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, e, code := p.run("init", "-upgrade"); code != 0 {
		t.Fatalf("init: %s", e)
	}
	return copyPath, bin
}

func TestTamperedPluginIsRefused(t *testing.T) {
	p := newProject(t, onePipeline)
	copyPath, bin := lockedPluginCopy(t, p) // then changed
	if err := os.WriteFile(copyPath, append(bin, "tampered"...), 0o755); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := p.run("plan")
	if code != 1 || !strings.Contains(errOut, "does not match .pipectl.lock.hcl") {
		t.Fatalf("plan of a tampered plugin: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := p.run("init"); code != 1 || !strings.Contains(errOut, "init -upgrade") {
		t.Fatalf("init over a tampered plugin: exit %d\n%s", code, errOut)
	}
}

// A plugin binary verified against the lock file is remembered in
// .pipectl/checksums.json, so that the next command need not hash it; a
// binary changed after that, in place with the same size or replaced, is
// still refused.
func TestVerifiedPluginIsRememberedAndAChangeStillRefused(t *testing.T) {
	p := newProject(t, onePipeline)
	copyPath, bin := lockedPluginCopy(t, p)
	time.Sleep(2500 * time.Millisecond) // a binary changed a moment ago is not remembered
	if _, e, code := p.run("plan"); code != 0 {
		t.Fatalf("plan: %s", e)
	}
	sums, err := os.ReadFile(filepath.Join(p.dir, ".pipectl", "checksums.json"))
	sum := sha256.Sum256(bin)
	if err != nil || !strings.Contains(string(sums), copyPath) || !strings.Contains(string(sums), hex.EncodeToString(sum[:])) {
		t.Fatalf("the verified plugin is not remembered: %v\n%s", err, sums)
	}

	changed := append([]byte(nil), bin...)
	changed[len(changed)/2] ^= 1
	f, err := os.OpenFile(copyPath, os.O_WRONLY, 0) // in place: the same file, the same size
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(changed[len(changed)/2:len(changed)/2+1], int64(len(changed)/2)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, errOut, code := p.run("plan"); code != 1 || !strings.Contains(errOut, "does not match .pipectl.lock.hcl") {
		t.Fatalf("plan with the remembered plugin written in place: exit %d\n%s", code, errOut)
	}

	if err := os.WriteFile(copyPath, bin, 0o755); err != nil { // the locked binary again
		t.Fatal(err)
	}
	if _, e, code := p.run("plan"); code != 0 {
		t.Fatalf("plan with the locked binary back: %s", e)
	}
	other := copyPath + ".other"
	if err := os.WriteFile(other, changed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, copyPath); err != nil { // another file in its place
		t.Fatal(err)
	}
	if _, errOut, code := p.run("plan"); code != 1 || !strings.Contains(errOut, "does not match .pipectl.lock.hcl") {
		t.Fatalf("plan with another binary in the remembered one's place: exit %d\n%s", code, errOut)
	}
}

func TestStalePlanIsRefused(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "observe" {
    action      = std.noop
    fingerprint = trimspace(file("world.txt"))
  }
}`)
	p.write("world.txt", "revision 1")
	if _, errOut, code := p.run("plan", "-out", "plan.json"); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	p.write("world.txt", "revision 2")
	out, errOut, code := p.run("apply", "plan.json")
	if code != 1 || !strings.Contains(errOut, "Saved plan is stale") {
		t.Fatalf("apply of a stale plan: exit %d\n%s%s", code, out, errOut)
	}
	if started(out, "observe") {
		t.Fatal("a step ran from the stale plan")
	}
	p.write("world.txt", "revision 1")
	if out, errOut, code := p.run("apply", "plan.json"); code != 0 || !strings.Contains(out, "Run succeeded") {
		t.Fatalf("apply of a fresh plan: exit %d\n%s%s", code, out, errOut)
	}
}

func TestSensitiveVariableNeverLeaks(t *testing.T) {
	const secret = "Sup3r-S3cret-Value"
	p := newProject(t, `
pipeline "e2e" {}
variable "password" {
  type      = string
  sensitive = true
}
stage "s" {
  step "use" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo connecting with ${var.password}"]
  }
  step "fail" {
    action = std.noop
    fail   = "rejected ${var.password}"
  }
}
output "password_echo" {
  value = step.use.stdout
}`)
	p.env = append(p.env, "PIPECTL_VAR_password="+secret)
	planOut, planErr, code := p.run("plan", "-out", "plan.json")
	if code != 0 {
		t.Fatalf("plan: %s", planErr)
	}
	planJSON, _, _ := p.run("plan", "-json")
	planFile, err := os.ReadFile(filepath.Join(p.dir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	applyOut, applyErr, _ := p.run("apply", "plan.json")
	jsonOut, jsonErr, _ := p.run("apply", "-auto-approve", "-json")
	record, err := os.ReadFile(filepath.Join(p.dir, ".pipectl", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"plan stdout": planOut + planErr, "plan -json": planJSON, "plan file": string(planFile),
		"apply stdout": applyOut + applyErr, "apply -json": jsonOut + jsonErr, "run records": string(record),
	} {
		if strings.Contains(text, secret) {
			t.Errorf("the secret appears in %s:\n%s", name, text)
		}
	}
	if !strings.Contains(applyOut, "connecting with (sensitive value)") {
		t.Errorf("apply output does not show the redacted log line:\n%s", applyOut)
	}
}

func TestValidateReportsEveryErrorWithPositions(t *testing.T) {
	p := newProject(t, onePipeline)
	p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = std.noop
    inptus = 1
  }
  step "b" {
    action = std.nop
  }
}`)
	out, errOut, code := p.run("validate")
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"on pipeline.hcl line 6", `Did you mean "inputs"?`,
		"on pipeline.hcl line 9", "Did you mean std.noop?",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
}

// A pipeline of more than 1 MiB is validated from its source, each step's
// configuration parsed again when it is checked (dsl.ReparseStepSyntax):
// its errors point where they are, a one-line step's included.
func TestValidateReportsErrorsOfALargePipelineWithPositions(t *testing.T) {
	var b strings.Builder
	b.WriteString("pipeline \"e2e\" {}\n")
	for s := 0; s < 1700; s++ {
		fmt.Fprintf(&b, "stage \"s%d\" {\n", s)
		for i := s * 10; i < s*10+10; i++ {
			fmt.Fprintf(&b, "  step \"n%d\" {\n    action = std.noop\n    inputs = \"%d\"\n  }\n", i, i)
		}
		b.WriteString("}\n")
	}
	if b.Len() <= 1<<20 {
		t.Fatalf("the pipeline is %d bytes: too small to be reparsed", b.Len())
	}
	line := strings.Count(b.String(), "\n") + 1
	b.WriteString(`stage "late" {
  step "a" {
    action = std.noop
    inptus = 1
  }
  step "b" { action = std.exec }
}
`)
	p := newProject(t, onePipeline)
	p.write("pipeline.hcl", b.String())
	_, errOut, code := p.run("validate")
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		fmt.Sprintf("on pipeline.hcl line %d, in stage \"late\"", line+3), `Did you mean "inputs"?`,
		fmt.Sprintf("on pipeline.hcl line %d, in stage \"late\"", line+5), `The argument "command" is required`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
}

func TestPlanDetailedExitCode(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action   = std.render
    template = "hello"
    output   = "out.txt"
  }
}`)
	if _, errOut, code := p.run("plan", "-detailed-exitcode"); code != 2 {
		t.Fatalf("plan with a change: exit %d, want 2\n%s", code, errOut)
	}
	if _, errOut, code := p.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: %s", errOut)
	}
	if _, errOut, code := p.run("plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("plan with nothing to change: exit %d, want 0\n%s", code, errOut)
	}
}

// TestApplyScheduling runs testdata/branches.hcl through the real binaries
// and checks the whole run from its JSON events.
func TestApplyScheduling(t *testing.T) {
	p := newProjectFrom(t, "testdata/branches.hcl")
	counter := filepath.Join(p.dir, "counter")
	if _, errOut, code := p.run("plan", "-var", "counter="+counter); code != 0 {
		t.Fatalf("plan: %s", errOut)
	}
	out, errOut, code := p.run("apply", "-auto-approve", "-json", "-var", "counter="+counter)
	if code != 7 {
		t.Fatalf("exit %d, want 7 (publish times out before anything changed, its handlers run)\n%s", code, errOut)
	}
	evs := events(t, out)
	at := func(typ engine.EventType, step string) time.Time {
		for _, e := range evs {
			if e.Type == typ && e.Step == step {
				return e.Time
			}
		}
		t.Fatalf("no %s event for %s", typ, step)
		return time.Time{}
	}
	if !at(engine.StepStarted, "right").Before(at(engine.StepFinished, "left")) {
		t.Error("the two branches did not run in parallel")
	}
	if at(engine.StepStarted, "join").Before(at(engine.StepFinished, "right")) {
		t.Error("join started before the step it refers to finished")
	}
	if at(engine.StepStarted, "publish").Before(at(engine.StepFinished, "flaky")) {
		t.Error("publish started before its depends_on finished")
	}
	want := map[string]engine.Status{
		"left": engine.StatusSucceeded, "right": engine.StatusSucceeded, "flaky": engine.StatusSucceeded,
		"join": engine.StatusSucceeded, "publish": engine.StatusFailed, "announce": engine.StatusNotRun,
		"undo": engine.StatusSucceeded, "record": engine.StatusSucceeded,
	}
	for step, st := range want {
		if got := statusOf(evs, step); got != st {
			t.Errorf("%s: %s, want %s", step, got, st)
		}
	}
	retries := 0
	for _, e := range evs {
		if e.Type == engine.StepRetrying && e.Step == "flaky" {
			retries++
		}
		if e.Type == engine.StepFinished && e.Step == "publish" && !strings.Contains(e.Message, "timed out after 200ms") {
			t.Errorf("publish failed with %q, want a timeout", e.Message)
		}
	}
	if retries != 1 {
		t.Errorf("flaky retried %d times, want 1", retries)
	}
}

func TestSecondInterruptStopsTheHandlers(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "long" {
    action   = std.sleep
    duration = "60s"
  }
}
finally {
  step "slow_cleanup" {
    action   = std.sleep
    duration = "60s"
  }
}`)
	cmd, ch, stderr := startJSON(t, p)
	var seen []engine.Event
	waitFor(t, ch, &seen, func(e engine.Event) bool { return e.Type == engine.StepStarted && e.Step == "long" })
	_ = cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, ch, &seen, func(e engine.Event) bool { return e.Type == engine.StepStarted && e.Step == "slow_cleanup" })
	_ = cmd.Process.Signal(syscall.SIGINT)
	drain(ch, &seen)
	if code := exitCode(cmd.Wait()); code != 130 {
		t.Fatalf("exit %d, want 130; stderr %s", code, stderr)
	}
	// Not stopped, it would have slept its 60s and succeeded.
	if got := statusOf(seen, "slow_cleanup"); got != engine.StatusCancelled {
		t.Errorf("the second interrupt did not stop the finally step: slow_cleanup %s, want cancelled", got)
	}
}

func TestFmt(t *testing.T) {
	p := &project{t: t, dir: t.TempDir(), env: os.Environ()}
	p.write("a.hcl", "pipeline \"x\" {\ndescription=\"a\"\n}\n")
	p.write("ok.hcl", "pipeline \"y\" {}\n")
	out, _, code := p.run("fmt", "-check", "-diff")
	if code != 3 || !strings.Contains(out, "a.hcl") || strings.Contains(out, "ok.hcl") ||
		!strings.Contains(out, "+  description = \"a\"") {
		t.Fatalf("fmt -check -diff: exit %d\n%s", code, out)
	}
	if _, _, code := p.run("fmt"); code != 0 {
		t.Fatalf("fmt: exit %d", code)
	}
	if b, _ := os.ReadFile(filepath.Join(p.dir, "a.hcl")); string(b) != "pipeline \"x\" {\n  description = \"a\"\n}\n" {
		t.Fatalf("formatted file:\n%s", b)
	}
	if _, _, code := p.run("fmt", "-check"); code != 0 {
		t.Fatalf("fmt -check after fmt: exit %d", code)
	}
	p.write("broken.hcl", "pipeline \"z\" {\n")
	_, errOut, code := p.run("fmt", "broken.hcl")
	if code != 1 || !strings.Contains(errOut, "on broken.hcl line 1") {
		t.Fatalf("fmt of a broken file: exit %d\n%s", code, errOut)
	}
}

func TestGraphFormats(t *testing.T) {
	p := newProjectFrom(t, "testdata/branches.hcl")
	dot, errOut, code := p.run("graph")
	if code != 0 {
		t.Fatalf("graph: %s", errOut)
	}
	for _, want := range []string{`subgraph "cluster_build"`, `"step.left" -> "step.join";`, `"step.flaky" -> "step.publish";`, `subgraph "cluster_finally"`} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot lacks %s:\n%s", want, dot)
		}
	}
	mermaid, _, _ := p.run("graph", "-format", "mermaid")
	for _, want := range []string{"flowchart LR", `subgraph stage_ship["stage ship"]`, "step_join --> step_publish"} {
		if !strings.Contains(mermaid, want) {
			t.Errorf("mermaid lacks %s:\n%s", want, mermaid)
		}
	}
}

func TestPluginsListsLockedPluginsAndTheirActions(t *testing.T) {
	p := newProject(t, onePipeline)
	out, errOut, code := p.run("plugins")
	if code != 0 || !strings.Contains(out, "actions: exec, http_check, noop, render, sleep, webhook") || !strings.Contains(out, "sha256: ") {
		t.Fatalf("plugins: exit %d\n%s%s", code, out, errOut)
	}
}

// A pipectl killed mid-run leaves a record of everything up to then, shown
// as interrupted; and while a run goes on, a second one is refused.
func TestRunRecordSurvivesAKilledPipectl(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "quick" {
    action = std.noop
    inputs = "done"
  }
  step "long" {
    action     = std.exec
    command    = "sh"
    args       = ["-c", "echo pid $PPID; exec sleep 60"]
    depends_on = [step.quick]
  }
}`)
	cmd, ch, _ := startJSON(t, p)
	var seen []engine.Event
	log := waitFor(t, ch, &seen, func(e engine.Event) bool { return e.Type == engine.StepLog && e.Step == "long" })
	pluginPID := pidFrom(t, log)
	if _, errOut, code := p.run("apply", "-auto-approve"); code != 1 || !strings.Contains(errOut, "another pipectl is applying this pipeline") {
		t.Errorf("a concurrent apply: exit %d\n%s", code, errOut)
	}
	// Kill only once quick's outcome is committed: reading the record
	// needs no lock, so ask pipectl runs, as a user watching would. (The
	// database's bytes are no sign: a transaction's pages are written
	// before the commit that makes them count.)
	for deadline := time.Now().Add(hangBound); ; time.Sleep(50 * time.Millisecond) {
		out, _, _ := p.run("runs", "-json")
		var list []struct {
			Steps []struct{ Step, Status string }
		}
		if runsJSON(out, &list) == nil && len(list) == 1 && slices.ContainsFunc(list[0].Steps,
			func(s struct{ Step, Status string }) bool { return s.Step == "quick" && s.Status == "succeeded" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the outcome of step quick never reached the run record")
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	drain(ch, &seen)
	deadline := time.Now().Add(hangBound)
	for syscall.Kill(pluginPID, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if syscall.Kill(pluginPID, 0) == nil {
		t.Errorf("the plugin process (%d) outlived the killed pipectl", pluginPID)
	}

	run := onlyRecordedRun(t, p)
	if run.Status != "interrupted" || run.steps["quick"] != "succeeded" || run.steps["long"] != "interrupted" {
		t.Fatalf("record of the killed run: %+v", run)
	}
	show, _, code := p.run("runs", "show", run.ID, "-logs")
	if code != 0 || !strings.Contains(show, "step_finished  quick") {
		t.Errorf("runs show:\n%s", show)
	}
}

// The flagship pipeline validates for every environment, its std steps
// checked against the real std plugin's schema.
func TestAlphaMembersValidates(t *testing.T) {
	p := &project{t: t, dir: t.TempDir()}
	p.env = append(os.Environ(), "PIPECTL_PLUGIN_PATH="+binDir, "NO_COLOR=1")
	// A CI system's actor (GITHUB_ACTOR...) would be recorded beside the
	// starter and change what runs show prints: the tests set their own.
	for _, v := range []string{"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "CIRCLE_USERNAME", "BUILDKITE_BUILD_CREATOR", "BUILD_REQUESTEDFOR", "BITBUCKET_STEP_TRIGGERER_UUID", "BUILD_USER_ID"} {
		p.env = append(p.env, v+"=")
	}
	if err := os.CopyFS(p.dir, os.DirFS("../../pipelines")); err != nil {
		t.Fatal(err)
	}
	sum, err := checksum(filepath.Join(binDir, "pipectl-plugin-std"))
	if err != nil {
		t.Fatal(err)
	}
	p.write(".pipectl.lock.hcl", fmt.Sprintf("plugin \"std\" {\n  version = \"0.1.0\"\n  sha256  = %q\n}\n", sum))
	for _, env := range []string{"dev", "staging", "prod"} {
		out, errOut, code := p.run("validate", "-env", env)
		if code != 0 || !strings.Contains(out, "Success!") {
			t.Errorf("validate -env %s: exit %d\n%s%s", env, code, out, errOut)
		}
		if !strings.Contains(errOut, `Plugin "helm" is not installed`) {
			t.Errorf("validate -env %s does not say helm steps were not checked:\n%s", env, errOut)
		}
	}
}

func checksum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", sha256.Sum256(b)), nil
}

func TestApplyAsksBeforeRunning(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "write" {
    action  = std.render
    content = "done"
    output  = "out.txt"
  }
}`)
	cmd := p.command("apply")
	cmd.Stdin = strings.NewReader("no\n")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "Apply cancelled: nothing was done.") {
		t.Fatalf("declined apply: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "out.txt")); err == nil {
		t.Fatal("a declined apply wrote the file")
	}
	cmd = p.command("apply")
	cmd.Stdin = strings.NewReader("yes\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "~ write") {
		t.Fatalf("confirmed apply: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(p.dir, "out.txt")); string(b) != "done" {
		t.Fatalf("out.txt = %q", b)
	}
}

func TestPlanBeforeInitSaysSoOnce(t *testing.T) {
	p := &project{t: t, dir: t.TempDir(), env: append(os.Environ(), "PIPECTL_PLUGIN_PATH="+binDir)}
	p.write("pipeline.hcl", `
pipeline "e2e" {}
stage "s" {
  step "a" {
    action = std.noop
  }
  step "b" {
    action = std.noop
  }
}`)
	_, errOut, code := p.run("plan")
	if code != 1 || strings.Count(errOut, "run `pipectl init`") != 1 {
		t.Fatalf("plan before init: exit %d, want one error asking for init:\n%s", code, errOut)
	}
}

func TestValidateNeverQuotesASecret(t *testing.T) {
	const secret = "not-the-right-format-S3cret"
	p := newProject(t, onePipeline+`
variable "token" {
  type      = string
  sensitive = true
  validation {
    condition     = startswith(var.token, "tok_")
    error_message = "The token ${var.token} must start with tok_."
  }
}`)
	for _, args := range [][]string{{"validate"}, {"validate", "-json"}, {"plan"}, {"graph"}} {
		out, errOut, code := p.run(append(args, "-var", "token="+secret)...)
		if code != 1 || strings.Contains(out+errOut, secret) || !strings.Contains(out+errOut, "must start with tok_") {
			t.Errorf("%v: exit %d, the secret must be redacted from the message:\n%s%s", args, code, out, errOut)
		}
	}
}

func TestPlanJSONAndSavedPlanDescribeEveryStep(t *testing.T) {
	p := newProjectFrom(t, "testdata/branches.hcl")
	out, errOut, code := p.run("plan", "-json", "-var", "counter=x", "-out", "plan.json")
	if code != 0 {
		t.Fatalf("plan -json: %s", errOut)
	}
	printed := engine.Plan{Variables: map[string]engine.PlannedVariable{"counter": {Value: "x"}}} // not in -json
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m struct {
			Type string `json:"type"`
			view.StepPlannedMessage
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("plan -json line: %v\n%s", err, line)
		}
		if m.Type == "step_planned" {
			s := &engine.PlannedStep{Name: m.Step, Stage: m.Stage, Phase: engine.Phase(m.Phase), DependsOn: m.DependsOn, Timeout: m.Timeout}
			for _, in := range m.Instances {
				s.Instances = append(s.Instances, &engine.PlannedInstance{Key: in.Key, Summary: in.Summary})
			}
			printed.Steps = append(printed.Steps, s)
		}
	}
	saved, err := engine.ReadPlan(filepath.Join(p.dir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, plan := range []engine.Plan{printed, *saved} {
		if len(plan.Steps) != 8 || plan.Variables["counter"].Value != "x" {
			t.Fatalf("plan has %d steps, variables %v", len(plan.Steps), plan.Variables)
		}
		publish := plan.Step("publish")
		if publish == nil || publish.Stage != "ship" || publish.Phase != "main" ||
			!slices.Equal(publish.DependsOn, []string{"flaky", "join"}) || publish.Instances[0].Summary == "" || publish.Timeout != "200ms" {
			t.Errorf("publish planned as %+v", publish)
		}
		if undo := plan.Step("undo"); undo == nil || undo.Phase != "stage_on_failure" {
			t.Errorf("undo planned as %+v", undo)
		}
	}
}

// A failed run resumes where it stopped: what succeeded is not run again,
// and its outputs still feed the steps after it.
func TestResumeAFailedRun(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "one" {
  step "build" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo built >> builds.log; echo v1"]
  }
}
stage "two" {
  depends_on = [stage.one]
  step "deploy" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "test -f ready"]
  }
  step "report" {
    action     = std.noop
    inputs     = trimspace(step.build.stdout)
    depends_on = [step.deploy]
  }
}`)
	if _, _, code := p.run("apply", "-auto-approve"); code != 7 {
		t.Fatalf("first run: exit %d, want 7 (deploy fails; its steps only ran commands)", code)
	}
	list, _, _ := p.run("runs", "-json")
	var runsList []struct{ ID string }
	if err := runsJSON(list, &runsList); err != nil || len(runsList) != 1 {
		t.Fatalf("runs: %v %s", err, list)
	}
	failed := runsList[0].ID
	p.write("ready", "")

	// latest names the newest run, as in runs show (it was refused as
	// `no run "latest"` at a8d0d93).
	out, errOut, code := p.run("apply", "-resume", "latest", "-json")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errOut)
	}
	evs := events(t, out)
	for _, e := range evs {
		if e.Type == engine.StepStarted && e.Step == "build" {
			t.Error("build ran again on resume")
		}
		if e.Type == engine.StepFinished && e.Step == "report" && e.Outputs["inputs"] != "v1" {
			t.Errorf("report got %v from the resumed build, want v1", e.Outputs["inputs"])
		}
	}
	if b, _ := os.ReadFile(filepath.Join(p.dir, "builds.log")); string(b) != "built\n" {
		t.Errorf("builds.log = %q: build ran more than once", b)
	}
	if _, errOut, code := p.run("apply", "-resume", failed); code != 1 || !strings.Contains(errOut, "was already resumed by run") {
		t.Errorf("second resume of the same run: exit %d\n%s", code, errOut)
	}
	list, _, _ = p.run("runs", "-json")
	var again []struct {
		ID, Status  string
		ResumedFrom string `json:"resumed_from"`
	}
	_ = runsJSON(list, &again)
	if len(again) != 2 || again[0].Status != "succeeded" || again[0].ResumedFrom != failed {
		t.Fatalf("runs after resume: %s", list)
	}
	if _, errOut, code := p.run("apply", "-resume", again[0].ID); code != 1 || !strings.Contains(errOut, "nothing to resume") {
		t.Errorf("resume of a succeeded run: exit %d\n%s", code, errOut)
	}
}

// started reports whether the human apply output shows the step starting
// ("→ NAME  ACTION").
func started(out, step string) bool {
	return regexp.MustCompile(`(?m)→ ` + regexp.QuoteMeta(step) + ` +std\.`).MatchString(out)
}
