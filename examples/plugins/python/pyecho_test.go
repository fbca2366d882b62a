package pyecho

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// plugin is the Python plugin under test, run in place.
var plugin, pipectl string

// TestMain generates the stubs and builds pipectl. Missing Debian packages
// fail the tests (never skip them): `make python-example-deps` installs them.
func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(filepath.Dir(pipectl))
	os.Exit(code)
}

func setup() error {
	check := exec.Command("/usr/bin/python3", "-c", "import grpc, grpc_tools, msgpack, cryptography")
	if out, err := check.CombinedOutput(); err != nil {
		return fmt.Errorf("the Python plugin needs Debian's python3-grpcio, python3-grpc-tools, python3-msgpack "+
			"and python3-cryptography (make python-example-deps installs them): %v\n%s", err, out)
	}
	if out, err := exec.Command("./gen-stubs").CombinedOutput(); err != nil {
		return fmt.Errorf("gen-stubs: %v\n%s", err, out)
	}
	abs, err := filepath.Abs("pipectl-plugin-pyecho")
	if err != nil {
		return err
	}
	plugin = abs
	dir, err := os.MkdirTemp("", "pyecho-test")
	if err != nil {
		return err
	}
	pipectl = filepath.Join(dir, "pipectl")
	build := exec.Command("go", "build", "-o", pipectl, "./cmd/pipectl")
	build.Dir = filepath.Join("..", "..", "..")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building pipectl: %v\n%s", err, out)
	}
	return nil
}

func config(message any) cty.Value {
	return plugintest.Object(map[string]any{"message": message})
}

// The plugin over the real protocol (handshake, mutual TLS, gRPC), driven
// by the SDK's host side exactly as pipectl drives it.
func TestProtocol(t *testing.T) {
	p := plugintest.Start(t, plugin)

	t.Run("schema", func(t *testing.T) {
		s := p.Schema()
		upper := s.Actions["upper"]
		if s.Name != "pyecho" || s.Version != "0.1.0" || upper == nil {
			t.Fatalf("schema: %+v", s)
		}
		if c := s.Capabilities; !c.Declared || c.Cancel || c.PlanReadPaths {
			t.Errorf("capabilities %+v, want declared, none supported", c)
		}
		msg := upper.Block.Attributes["message"]
		if msg == nil || !msg.Required || !msg.Type.Equals(cty.String) || !upper.HasValidateConfig {
			t.Fatalf("action upper: %+v", upper)
		}
		if out := upper.Outputs["message"]; out == nil || !out.Type.Equals(cty.String) {
			t.Fatalf("outputs: %+v", upper.Outputs)
		}
		if s.Settings == nil || s.Settings.Attributes["prefix"] == nil {
			t.Fatalf("settings: %+v", s.Settings)
		}
	})

	t.Run("configure", func(t *testing.T) {
		diags, err := p.Configure(t.Context(), plugintest.Object(map[string]any{"prefix": ">> "}))
		if err != nil || len(diags) != 0 {
			t.Fatalf("configure: %v %v", diags, err)
		}
	})

	t.Run("validate", func(t *testing.T) {
		if diags := p.Validate("upper", config("hi")); len(diags) != 0 {
			t.Fatalf("a good config: %v", diags)
		}
		diags := p.Validate("upper", config("  "))
		if len(diags) != 1 || diags[0].Summary != "Empty message" || !diags[0].Attribute.Equals(cty.GetAttrPath("message")) {
			t.Fatalf("an empty message: %v", diags)
		}
		diags = p.Validate("upper", plugintest.Object(map[string]any{"mesage": "hi"}))
		if !hasError(diags, `Unsupported argument "mesage"`, "mesage") || !hasError(diags, `Missing required argument "message"`, "message") {
			t.Fatalf("a misspelt attribute: %v", diags)
		}
		if diags := p.Validate("upper", config(cty.UnknownVal(cty.String))); len(diags) != 0 {
			t.Fatalf("an unknown message: %v", diags)
		}
	})

	t.Run("plan", func(t *testing.T) {
		plan := p.Plan("upper", config("hello"))
		if plan.Kind != sdk.PlanRun || plan.Summary != "upper-case 'hello'" || len(plan.Diagnostics) != 0 {
			t.Fatalf("plan: %+v", plan)
		}
		if got := plan.PlannedOutputs.GetAttr("message"); !got.RawEquals(cty.StringVal(">> HELLO")) {
			t.Fatalf("planned message %#v", got)
		}
		unknown := p.Plan("upper", config(cty.UnknownVal(cty.String)))
		if got := unknown.PlannedOutputs.GetAttr("message"); got.IsKnown() || !got.Type().Equals(cty.String) {
			t.Fatalf("planned message of an unknown one: %#v", got)
		}
		// The action's checks guard Plan too, not only ValidateConfig.
		bad := p.Plan("upper", config(""))
		if !hasError(bad.Diagnostics, "Empty message", "message") {
			t.Fatalf("plan of an empty message: %v", bad.Diagnostics)
		}
	})

	t.Run("apply", func(t *testing.T) {
		run := p.Apply("upper", config("hello"))
		run.RequireSuccess(t)
		if got := run.Output("message").AsString(); got != ">> HELLO" {
			t.Fatalf("message %q", got)
		}
		if logs := run.Logs(sdk.Stdout); len(logs) != 1 || logs[0] != ">> HELLO" {
			t.Fatalf("logs %q", logs)
		}
		if bad := p.Apply("upper", config("")); !hasError(bad.Diagnostics, "Empty message", "message") {
			t.Fatalf("apply of an empty message: %v %v", bad.Diagnostics, bad.Err)
		}
	})

	t.Run("sensitive", func(t *testing.T) {
		secret := cty.StringVal("hunter2").Mark(sdk.Sensitive)
		if plan := p.Plan("upper", config(secret)); strings.Contains(plan.Summary, "hunter2") ||
			!plan.PlannedOutputs.GetAttr("message").HasMark(sdk.Sensitive) {
			t.Fatalf("plan of a secret: %+v", plan)
		}
		run := p.Apply("upper", config(secret))
		run.RequireSuccess(t)
		out, _ := run.Outputs.UnmarkDeep()
		if !run.Outputs.GetAttr("message").HasMark(sdk.Sensitive) || out.GetAttr("message").AsString() != ">> HUNTER2" {
			t.Fatalf("outputs of a secret: %#v", run.Outputs)
		}
		if logs := run.Logs(""); len(logs) != 1 || logs[0] != "(sensitive)" {
			t.Fatalf("logs of a secret %q", logs)
		}
	})

	t.Run("stop", func(t *testing.T) {
		if err := p.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// Settings the plugin refuses point at the setting, and leave a plugin
// that serves nothing.
func TestBadSettings(t *testing.T) {
	p := plugintest.Start(t, plugin)
	diags, err := p.Configure(t.Context(), plugintest.Object(map[string]any{"prefix": "two\nlines"}))
	if err != nil || !hasError(diags, "Invalid prefix", "prefix") {
		t.Fatalf("configure: %v %v", diags, err)
	}
	run := p.Apply("upper", config("hello"))
	if !hasError(run.Diagnostics, "Plugin pyecho is not configured", "") {
		t.Fatalf("apply after bad settings: %v %v", run.Diagnostics, run.Err)
	}
}

// Close asks the plugin to shut down (go-plugin's controller service): it
// exits by itself and removes its socket, which it made where the host's
// PLUGIN_UNIX_SOCKET_DIR says. A plugin killed instead leaves the socket.
func TestShutdown(t *testing.T) {
	sockets := t.TempDir()
	t.Setenv("PLUGIN_UNIX_SOCKET_DIR", sockets)
	p := plugintest.Start(t, plugin)
	p.Schema()
	if left, _ := os.ReadDir(sockets); len(left) != 1 {
		t.Fatalf("the plugin made %d entries in PLUGIN_UNIX_SOCKET_DIR, want its socket's directory", len(left))
	}
	p.Close()
	if left, _ := os.ReadDir(sockets); !p.Exited() || len(left) != 0 {
		t.Fatalf("the plugin did not shut down cleanly (exited: %v, left %d entries)", p.Exited(), len(left))
	}
}

func hasError(diags sdk.Diagnostics, summary, attribute string) bool {
	want := cty.Path(nil)
	if attribute != "" {
		want = cty.GetAttrPath(attribute)
	}
	for _, d := range diags {
		if d.Severity == sdk.Error && d.Summary == summary && d.Attribute.Equals(want) {
			return true
		}
	}
	return false
}

// A real pipeline: pipectl init locks the script, plan and apply run it,
// its setting comes from the plugin block, one step's output feeds the next
// (planned outputs too: the second step's plan already knows its message).
func TestPipectlApply(t *testing.T) {
	dir := writePipeline(t, `
pipeline "py" {}
plugin "pyecho" {
  source = "`+plugin+`"
  prefix = "py: "
}
stage "s" {
  step "first" {
    action  = pyecho.upper
    message = "hello"
  }
  step "second" {
    action  = pyecho.upper
    message = "then ${step.first.message}"
  }
}`)
	run(t, dir, 0, "init")
	plan := run(t, dir, 0, "plan")
	if !strings.Contains(plan, "upper-case 'hello'") || !strings.Contains(plan, "upper-case 'then py: HELLO'") {
		t.Fatalf("plan:\n%s", plan)
	}
	out := run(t, dir, 0, "apply", "-auto-approve", "-json")
	logs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Type, Step, Message, Status string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON event: %q", line)
		}
		if e.Type == "step_log" {
			logs[e.Step] = e.Message
		}
		if e.Type == "step_finished" && e.Status != "succeeded" {
			t.Errorf("step %s %s: %s", e.Step, e.Status, e.Message)
		}
	}
	if logs["first"] != "py: HELLO" || logs["second"] != "py: THEN PY: HELLO" {
		t.Fatalf("step logs %q\n%s", logs, out)
	}
}

// A diagnostic with an attribute path lands on the attribute's line.
func TestPipectlDiagnosticAtItsLine(t *testing.T) {
	dir := writePipeline(t, `
pipeline "py" {}
plugin "pyecho" {
  source = "`+plugin+`"
}
stage "s" {
  step "empty" {
    action  = pyecho.upper
    message = ""
  }
}`)
	run(t, dir, 0, "init")
	for _, cmd := range []string{"validate", "plan"} {
		out := run(t, dir, 1, cmd)
		if !strings.Contains(out, "Empty message") || !strings.Contains(out, "pipeline.hcl line 9") {
			t.Fatalf("%s of an empty message:\n%s", cmd, out)
		}
	}
}

func writePipeline(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs pipectl in dir, expects exit code want, and returns stdout and
// stderr together.
func run(t *testing.T, dir string, want int, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(pipectl, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
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
	return out.String()
}

// BenchmarkStart measures what a run pays per Python plugin process: start
// (interpreter, imports, key generation, handshake), one call, shutdown.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		p := plugintest.Start(b, plugin)
		p.Schema()
		p.Close()
	}
}

// BenchmarkApply measures one Apply round trip on a running plugin.
func BenchmarkApply(b *testing.B) {
	p := plugintest.Start(b, plugin)
	for b.Loop() {
		p.Apply("upper", config("hello")).RequireSuccess(b)
	}
}
