// Package plugintest tests pipectl plugin actions the way pipectl runs them:
// it builds the plugin binary, starts it as a real subprocess (handshake,
// mutual TLS, gRPC) and drives its actions, without pipectl.
//
//	func TestGreet(t *testing.T) {
//		p := plugintest.BuildAndStart(t, ".")
//		run := p.ApplyHCL("greet", `name = "Ada"`)
//		run.RequireSuccess(t)
//		if got := run.Output("message").AsString(); got != "Hi, Ada!" { ... }
//	}
//
// (the greet action of examples/plugins/greeter). A config is written in
// HCL, as in a pipeline (PlanHCL, ApplyHCL, ValidateHCL, DecodeHCL), or
// built from Go values with Object.
package plugintest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// Build compiles the plugin main package pkg (a path such as "." or
// "./plugins/std", resolved by `go build` from the test's directory) into
// t.TempDir() and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin, err := BuildBinary(pkg, t.TempDir())
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return bin
}

// BuildBinary is Build for TestMain: it compiles pkg into dir once, for
// every test of the package to Start. With PIPECTL_TEST_COVER set it
// builds with -cover: the plugin, a process of its own, writes its
// coverage to the GOCOVERDIR it inherits (go tool covdata percent -i DIR).
func BuildBinary(pkg, dir string) (string, error) {
	abs, err := filepath.Abs(pkg)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pipectl-plugin-"+filepath.Base(abs))
	args := []string{"build", "-o", bin}
	if os.Getenv("PIPECTL_TEST_COVER") != "" {
		args = append(args, "-cover")
	}
	cmd := exec.Command(goTool(), append(args, pkg)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// Start launches the plugin binary at path; it is closed when the test ends.
// The plugin's logs go to t.Log.
func Start(t testing.TB, path string) *Plugin {
	t.Helper()
	p, err := client.Launch(t.Context(), client.LaunchConfig{Path: path, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &Plugin{Plugin: p, t: t}
}

// BuildAndStart builds the plugin package and starts it.
func BuildAndStart(t testing.TB, pkg string) *Plugin {
	t.Helper()
	return Start(t, Build(t, pkg))
}

// Plugin is a running plugin under test. The embedded client.Plugin gives
// full control (contexts, concurrency); the methods below fail the test on
// transport errors and return what a test wants to look at.
type Plugin struct {
	*client.Plugin
	t testing.TB
}

// Schema returns the plugin's schema.
func (p *Plugin) Schema() *sdk.Schema {
	p.t.Helper()
	s, err := p.Plugin.Schema(p.t.Context())
	if err != nil {
		p.t.Fatalf("plugintest: %v", err)
	}
	return s
}

// Validate returns the diagnostics of ValidateConfig.
func (p *Plugin) Validate(action string, config cty.Value) sdk.Diagnostics {
	p.t.Helper()
	diags, err := p.ValidateConfig(p.t.Context(), action, config)
	if err != nil {
		p.t.Fatalf("plugintest: %v", err)
	}
	return diags
}

// Plan plans the action with config.
func (p *Plugin) Plan(action string, config cty.Value) *client.PlanResult {
	p.t.Helper()
	res, err := p.Plugin.Plan(p.t.Context(), client.PlanRequest{Action: action, StepID: p.t.Name(), Config: config})
	if err != nil {
		p.t.Fatalf("plugintest: %v", err)
	}
	return res
}

// Apply applies the action with config and collects its events.
func (p *Plugin) Apply(action string, config cty.Value) *Run {
	p.t.Helper()
	return p.ApplyContext(p.t.Context(), action, config)
}

// ApplyContext is Apply with a context (to test cancellation). A cancelled
// or failed call is reported in Run.Err rather than failing the test.
func (p *Plugin) ApplyContext(ctx context.Context, action string, config cty.Value) *Run {
	run := &Run{}
	res, err := p.Plugin.Apply(ctx, client.ApplyRequest{Action: action, StepID: p.t.Name(), Config: config},
		func(ev client.Event) {
			run.mu.Lock()
			run.Events = append(run.Events, ev)
			run.mu.Unlock()
		})
	run.Err = err
	if res != nil {
		run.Outputs, run.Diagnostics, run.Summary = res.Outputs, res.Diagnostics, res.Summary
	}
	return run
}

// Run is the record of one Apply.
type Run struct {
	mu          sync.Mutex
	Events      []client.Event
	Outputs     cty.Value
	Diagnostics sdk.Diagnostics
	Summary     string // what the action says it did
	Err         error  // talking to the plugin failed, or ctx was cancelled
}

// RequireSuccess fails the test unless the Apply completed without errors.
func (r *Run) RequireSuccess(t testing.TB) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("apply failed: %v", r.Err)
	}
	if r.Diagnostics.HasErrors() {
		t.Fatalf("apply returned errors: %v", r.Diagnostics.Err())
	}
}

// Output returns one output attribute, unmarked; it fails the test if the
// outputs are not an object with that attribute.
func (r *Run) Output(name string) cty.Value { return outputAttr(r.Outputs, name) }

// Logs returns the log lines of one stream ("" for all streams).
func (r *Run) Logs(stream string) []string {
	var lines []string
	for _, ev := range r.Events {
		if ev.Kind == client.EventLog && (stream == "" || ev.Stream == stream) {
			lines = append(lines, ev.Line)
		}
	}
	return lines
}

// Artifacts returns the artifacts the action attached.
func (r *Run) Artifacts() []client.Artifact {
	var out []client.Artifact
	for _, ev := range r.Events {
		if ev.Kind == client.EventArtifact {
			out = append(out, *ev.Artifact)
		}
	}
	return out
}

// Progress returns the progress events.
func (r *Run) Progress() []client.Event {
	var out []client.Event
	for _, ev := range r.Events {
		if ev.Kind == client.EventProgress {
			out = append(out, ev)
		}
	}
	return out
}

func outputAttr(v cty.Value, name string) cty.Value {
	v, _ = v.UnmarkDeep()
	if v == cty.NilVal || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NilVal
	}
	return v.GetAttr(name)
}

// Object builds a config object from Go values: strings, ints, floats,
// bools, []string, map[string]string, []any (a tuple), nested
// map[string]any (objects) and any cty.Value (unknown, marked). The
// plugin's SDK converts it to the schema's types, as it does what pipectl
// sends. To write a config as a pipeline does, use DecodeHCL.
func Object(attrs map[string]any) cty.Value {
	vals := make(map[string]cty.Value, len(attrs))
	for k, v := range attrs {
		vals[k] = toValue(v)
	}
	return cty.ObjectVal(vals)
}

func toValue(v any) cty.Value {
	switch v := v.(type) {
	case cty.Value:
		return v
	case string:
		return cty.StringVal(v)
	case int:
		return cty.NumberIntVal(int64(v))
	case float64:
		return cty.NumberFloatVal(v)
	case bool:
		return cty.BoolVal(v)
	case []string:
		if len(v) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		elems := make([]cty.Value, len(v))
		for i, s := range v {
			elems[i] = cty.StringVal(s)
		}
		return cty.ListVal(elems)
	case map[string]string:
		if len(v) == 0 {
			return cty.MapValEmpty(cty.String)
		}
		elems := make(map[string]cty.Value, len(v))
		for k, s := range v {
			elems[k] = cty.StringVal(s)
		}
		return cty.MapVal(elems)
	case map[string]any:
		return Object(v)
	case []any:
		elems := make([]cty.Value, len(v))
		for i, e := range v {
			elems[i] = toValue(e)
		}
		return cty.TupleVal(elems)
	}
	panic("plugintest.Object: unsupported value type; pass a cty.Value")
}

func testLogger(t testing.TB) hclog.Logger {
	w := &testWriter{t: t}
	// Registered before the plugin's Close, so it runs after it (LIFO).
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Debug, Output: w})
}

// testWriter sends log lines to t.Log until the test ends (a plugin may log
// after that, while it shuts down).
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

func goTool() string {
	if goroot := os.Getenv("GOROOT"); goroot != "" {
		if p := filepath.Join(goroot, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
