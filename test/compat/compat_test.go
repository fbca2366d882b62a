package compat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// revision is one frozen plugin and what its protocol revision has.
type revision struct {
	dir         string // beside this file
	commit      string // the protocol's revision
	settings    bool   // plugin settings, ConfigurePlugin, plan kinds (976ffef)
	alwaysApply bool   // AlwaysApply (3ab0519)
	cancel      bool   // Cancel, the step's deadline in Apply (3807f49)
	readPaths   bool   // capabilities, Plan.read_paths
	summary     bool   // Apply's result says what it did
	planStream  bool   // PlanStream: plans over one stream
	applyStream bool   // ApplyStream: applies over one stream
	python      bool
}

// revisions are the frozen plugins, oldest first; the last one speaks the
// current sdk/proto (TestSuiteHasTheCurrentProtocol).
var revisions = []revision{
	{dir: "v1.0-python", commit: "f4c25e7", python: true},
	{dir: "v1.0-go", commit: "f4c25e7"},
	{dir: "v1.1-go", commit: "976ffef", settings: true},
	{dir: "v1.2-go", commit: "3ab0519", settings: true, alwaysApply: true},
	{dir: "v1.3-go", commit: "3807f49", settings: true, alwaysApply: true, cancel: true},
	{dir: "v1.4-go", commit: "capabilities", settings: true, alwaysApply: true, cancel: true, readPaths: true},
	{dir: "v1.5-go", commit: "3d5bbc8", settings: true, alwaysApply: true, cancel: true, readPaths: true, summary: true},
	{dir: "v1.6-go", commit: "d1601ae", settings: true, alwaysApply: true, cancel: true, readPaths: true, summary: true, planStream: true},
	{dir: "v1.7-go", commit: "fba297f", settings: true, alwaysApply: true, cancel: true, readPaths: true, summary: true, planStream: true,
		applyStream: true},
}

// v10Calls are the calls of the original v1: all a plugin of f4c25e7 has.
var v10Calls = map[string]bool{"GetSchema": true, "ValidateConfig": true, "Plan": true, "Apply": true, "Stop": true}

var (
	pipectl string            // the pipectl under test
	plugins map[string]string // revision dir -> its plugin's executable
)

// TestMain builds every frozen plugin from source (the Python one gets its
// stubs) and uses $PIPECTL_E2E_BIN/pipectl when set (make test), else
// builds pipectl. Missing Python packages fail the tests, never skip them.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "pipectl-compat-")
	if err == nil {
		err = setup(tmp)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

func setup(tmp string) error {
	pipectl = filepath.Join(os.Getenv("PIPECTL_E2E_BIN"), "pipectl")
	if os.Getenv("PIPECTL_E2E_BIN") == "" {
		pipectl = filepath.Join(tmp, "pipectl")
		if err := goBuild(filepath.Join("..", ".."), pipectl, "./cmd/pipectl"); err != nil {
			return err
		}
	}
	plugins = map[string]string{}
	for _, r := range revisions {
		if r.python {
			check := exec.Command("/usr/bin/python3", "-c", "import grpc, grpc_tools, msgpack, cryptography")
			if out, err := check.CombinedOutput(); err != nil {
				return fmt.Errorf("the Python plugin needs Debian's python3-grpcio, python3-grpc-tools, python3-msgpack "+
					"and python3-cryptography (make python-example-deps installs them): %v\n%s", err, out)
			}
			if out, err := exec.Command(filepath.Join(r.dir, "gen-stubs")).CombinedOutput(); err != nil {
				return fmt.Errorf("%s/gen-stubs: %v\n%s", r.dir, err, out)
			}
			abs, err := filepath.Abs(filepath.Join(r.dir, "pipectl-plugin-compat"))
			if err != nil {
				return err
			}
			plugins[r.dir] = abs
			continue
		}
		out := filepath.Join(tmp, r.dir, "pipectl-plugin-compat")
		if err := goBuild(r.dir, out, "."); err != nil {
			return err
		}
		plugins[r.dir] = out
	}
	return nil
}

// goBuild builds pkg in the module at dir, on its own go.mod.
func goBuild(dir, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s in %s: %v\n%s", pkg, dir, err, b)
	}
	return nil
}

const secret = "s3cr3t-compat-token"

// Every frozen plugin through a pipeline: plan, apply with events and
// outputs (one step's output feeds the next), a sensitive value that never
// shows, a no-change re-plan and re-apply.
func TestPipeline(t *testing.T) {
	for _, r := range revisions {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			dir, calls := pipeline(t, r, `
step "first" {
  action  = compat.write
  path    = "first.txt"
  content = "hello"
  token   = var.token
}
step "second" {
  action  = compat.write
  path    = "second.txt"
  content = "${step.first.digest} ${step.first.token}"
}`+alwaysApplied(r))
			run(t, dir, 0, "init")

			plan := run(t, dir, 0, "plan")
			for _, want := range []string{"write first.txt", "+ hello", "write second.txt"} {
				if !strings.Contains(plan, want) {
					t.Errorf("plan lacks %q:\n%s", want, plan)
				}
			}

			events := apply(t, dir)
			if got := events.logs["first"]; got != "writing first.txt\ntoken (sensitive value)\nwrote first.txt" {
				t.Errorf("first's log:\n%s", got)
			}
			for _, step := range []string{"first", "second"} {
				if events.status[step] != "succeeded" {
					t.Errorf("step %s: %s", step, events.status[step])
				}
			}
			// What a step did is its action's word, or nothing from a plugin
			// older than the summary (never the plan's forecast).
			if want := map[bool]string{true: "wrote first.txt"}[r.summary]; events.message["first"] != want {
				t.Errorf("first's step_finished message %q, want %q", events.message["first"], want)
			}
			// The output reached the next step, the secret too, in the world only.
			sum := sha256.Sum256([]byte("hello"))
			if got := readFile(t, dir, "second.txt"); got != header(r)+hex.EncodeToString(sum[:])+" "+secret {
				t.Errorf("second.txt: %q", got)
			}

			// Nothing to do now: the steps plan no change.
			replan := run(t, dir, 0, "plan", "-json")
			for _, step := range []string{"first", "second"} {
				kind, summary := planned(t, replan, step)
				if want := noChange(r); kind != want || summary != step+".txt is up to date" {
					t.Errorf("re-plan of %s: %s %q, want %s", step, kind, summary, want)
				}
			}
			again := apply(t, dir)
			if r.settings { // unchanged steps are not applied; AlwaysApply ones are
				if len(again.logs["first"]) > 0 || len(again.logs["second"]) > 0 {
					t.Errorf("unchanged steps applied again: %q", again.logs)
				}
			}
			if r.alwaysApply && again.logs["check"] != "checked first.txt" {
				t.Errorf("an AlwaysApply step was not applied: %q", again.logs)
			}
			if r.python {
				checkCalls(t, calls)
			}
		})
	}
}

// An action's diagnostic lands on its attribute's line, at validate and
// at plan.
func TestDiagnosticOnItsAttribute(t *testing.T) {
	for _, r := range revisions {
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			dir, calls := pipeline(t, r, `
step "empty" {
  action  = compat.write
  path    = "empty.txt"
  content = ""
}`)
			run(t, dir, 0, "init")
			line := fmt.Sprintf("pipeline.hcl line %d", strings.Count(pipelineHead(r), "\n")+5)
			for _, cmd := range []string{"validate", "plan"} {
				out := run(t, dir, 1, cmd)
				if !strings.Contains(out, "Empty content") || !strings.Contains(out, line) {
					t.Errorf("%s: want Empty content on %s:\n%s", cmd, line, out)
				}
			}
			if r.python {
				checkCalls(t, calls)
			}
		})
	}
}

// A step that times out ends with the action's own result: the plugin was
// asked to cancel (or applied the step's deadline) and said how it ended.
func TestTimeoutEndsWithTheActionsResult(t *testing.T) {
	for _, r := range revisions {
		if !r.cancel {
			continue
		}
		t.Run(r.dir, func(t *testing.T) {
			t.Parallel()
			dir, _ := pipeline(t, r, `
step "nap" {
  action  = compat.sleep
  timeout = "1s"
}`)
			run(t, dir, 0, "init")
			// 7: failed before any step that changes the target ran (a nap changes nothing).
			out := run(t, dir, 7, "apply", "-auto-approve")
			// Which of the two reaches the plugin first is a race on a
			// loaded machine: its own deadline, or the host's Cancel.
			woke := strings.Contains(out, "woke: context deadline exceeded") || strings.Contains(out, "woke: context canceled")
			if !strings.Contains(out, "Step timed out") || !woke {
				t.Errorf("want the action's own result:\n%s", out)
			}
		})
	}
}

// The newest frozen plugin speaks the current protocol: a change to
// sdk/proto comes with a frozen plugin of its own (README.md). Comments
// and layout are not the protocol.
func TestSuiteHasTheCurrentProtocol(t *testing.T) {
	const proto = "sdk/proto/pipectl/plugin/v1/plugin.proto"
	newest := revisions[len(revisions)-1]
	current, frozen := protoSum(t, filepath.Join("..", "..", proto)), protoSum(t, filepath.Join(newest.dir, proto))
	if current != frozen {
		t.Fatalf("%s changed since the newest frozen plugin (%s): add a frozen plugin of this revision "+
			"(test/compat/freeze, see test/compat/README.md) and list what it adds in docs/plugin-protocol.md", proto, newest.dir)
	}
}

// protoSum is the checksum of a .proto without its comments and layout.
func protoSum(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "//")
		fields = append(fields, strings.Fields(line)...)
	}
	s := sha256.Sum256([]byte(strings.Join(fields, " ")))
	return hex.EncodeToString(s[:])
}

func header(r revision) string {
	if r.settings {
		return "# managed\n"
	}
	return ""
}

func noChange(r revision) string {
	if r.settings {
		return "no-change"
	}
	return "run" // no plan kinds before 976ffef: the host takes an empty change as a run
}

func alwaysApplied(r revision) string {
	if !r.alwaysApply {
		return ""
	}
	return `
step "check" {
  action     = compat.check
  path       = "first.txt"
  depends_on = [step.second]
}`
}

// pipelineHead is everything of a revision's pipeline before its steps.
func pipelineHead(r revision) string {
	settings := ""
	if r.settings {
		settings = `
  header = "# managed\n"`
	}
	return `pipeline "compat" {}
variable "token" {
  type      = string
  sensitive = true
}
plugin "compat" {
  source = "` + plugins[r.dir] + `"` + settings + `
}
stage "s" {`
}

// pipeline writes a pipeline of the revision's plugin with the given steps
// in its one stage, and returns its directory and the file the Python
// plugin records its calls in.
func pipeline(t *testing.T, r revision, steps string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	src := pipelineHead(r) + steps + "\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, "calls")
}

// checkCalls fails on any call the original v1 does not have: the host
// makes an optional call only when the plugin declares it.
func checkCalls(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the plugin recorded no calls: %v", err)
	}
	for _, c := range strings.Fields(string(b)) {
		if !v10Calls[c] {
			t.Errorf("the host called %s, which a plugin of the original v1 does not have", c)
		}
	}
}

type applied struct {
	logs    map[string]string // step -> its log lines
	status  map[string]string // step -> its step_finished status
	message map[string]string // step -> its step_finished message
}

// apply runs pipectl apply -json and collects its steps' logs and statuses.
// The secret never shows.
func apply(t *testing.T, dir string) applied {
	t.Helper()
	out := run(t, dir, 0, "apply", "-auto-approve", "-json")
	a := applied{logs: map[string]string{}, status: map[string]string{}, message: map[string]string{}}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Type, Step, Message, Status string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON event: %q", line)
		}
		switch e.Type {
		case "step_log":
			a.logs[e.Step] = strings.TrimPrefix(a.logs[e.Step]+"\n"+e.Message, "\n")
		case "step_finished":
			a.status[e.Step], a.message[e.Step] = e.Status, e.Message
		}
	}
	return a
}

// planned is a step's first instance's kind and summary in plan -json.
func planned(t *testing.T, out, step string) (string, string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var e struct {
			Type, Step string
			Instances  []struct{ Kind, Summary string }
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Type == "step_planned" && e.Step == step && len(e.Instances) > 0 {
			return e.Instances[0].Kind, e.Instances[0].Summary
		}
	}
	t.Fatalf("no step_planned for %s:\n%s", step, out)
	return "", ""
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// run runs pipectl in dir (with the secret and the Python plugin's call
// log), expects exit code want, and returns its output, in which the
// secret never shows.
func run(t *testing.T, dir string, want int, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(pipectl, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "PIPECTL_VAR_token="+secret, "COMPAT_CALLS="+filepath.Join(dir, "calls"))
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("pipectl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out.String())
	}
	if strings.Contains(out.String(), secret) {
		t.Errorf("pipectl %s shows the secret:\n%s", strings.Join(args, " "), out.String())
	}
	return out.String()
}
