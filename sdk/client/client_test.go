package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// testPlugin is sdk/internal/testplugin, built once for the package.
var testPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdk-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "pipectl-plugin-testplugin")
	if out, err := exec.Command("go", "build", "-o", testPlugin, "../internal/testplugin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func launch(t *testing.T, cfg LaunchConfig) *Plugin {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = testPlugin
	}
	p, err := Launch(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func obj(attrs map[string]cty.Value) cty.Value { return cty.ObjectVal(attrs) }

func TestSchemaCrossesTheWire(t *testing.T) {
	p := launch(t, LaunchConfig{})
	s, err := p.Schema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "testplugin" || s.Version != "1.2.3" || len(s.Actions) != 6 {
		t.Fatalf("got %s %s with %d actions", s.Name, s.Version, len(s.Actions))
	}
	echo := s.Actions["echo"]
	msg, secret := echo.Block.Attributes["message"], echo.Block.Attributes["secret"]
	if !msg.Required || msg.Description != "What to say." || msg.Type != cty.String {
		t.Errorf("message attribute: %+v", msg)
	}
	if secret.Required || !secret.Sensitive {
		t.Errorf("secret attribute: %+v", secret)
	}
	if ty := echo.Block.Attributes["tags"].Type; !ty.Equals(cty.List(cty.String)) {
		t.Errorf("tags type: %s", ty.FriendlyName())
	}
	if ty := echo.Block.Attributes["extra"].Type; ty != cty.DynamicPseudoType {
		t.Errorf("extra type: %s", ty.FriendlyName())
	}
	settings := echo.Block.Blocks["settings"]
	if settings == nil || settings.Nesting != sdk.NestingSingle || !settings.Block.Attributes["level"].Required {
		t.Errorf("settings block: %+v", settings)
	}
	if !echo.Outputs["token"].Sensitive || echo.Outputs["message"].Sensitive {
		t.Errorf("outputs: token %+v, message %+v", echo.Outputs["token"], echo.Outputs["message"])
	}
	again, _ := p.Schema(t.Context())
	if again != s {
		t.Error("schema was not cached")
	}
}

func TestValidateConfig(t *testing.T) {
	p := launch(t, LaunchConfig{})
	cases := []struct {
		name    string
		action  string
		config  cty.Value
		summary string // "" = no diagnostics
		path    string
	}{
		{"valid", "echo", obj(map[string]cty.Value{"message": cty.StringVal("hi")}), "", ""},
		{"unknown values are fine", "echo", obj(map[string]cty.Value{"message": cty.UnknownVal(cty.String)}), "", ""},
		{"missing required", "echo", obj(map[string]cty.Value{"tags": cty.ListValEmpty(cty.String)}), `Missing required argument "message"`, "message"},
		{"null required", "echo", obj(map[string]cty.Value{"message": cty.NullVal(cty.String)}), `Missing required argument "message"`, "message"},
		{"unsupported argument", "echo", obj(map[string]cty.Value{"message": cty.StringVal("hi"), "mesage": cty.True}), `Unsupported argument "mesage"`, "mesage"},
		{"wrong type", "echo", obj(map[string]cty.Value{"message": cty.StringVal("hi"), "tags": cty.StringVal("x")}), "Invalid value for tags", "tags"},
		{"nested required", "echo", obj(map[string]cty.Value{"message": cty.StringVal("hi"), "settings": obj(map[string]cty.Value{})}), `Missing required argument "level"`, "settings.level"},
		{"action's own check", "echo", obj(map[string]cty.Value{"message": cty.StringVal("bad")}), "Message is bad", "message"},
		{"unknown action", "ech", obj(nil), `Plugin testplugin has no action "ech"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			diags, err := p.ValidateConfig(t.Context(), c.action, c.config)
			if err != nil {
				t.Fatal(err)
			}
			if c.summary == "" {
				if len(diags) > 0 {
					t.Fatalf("unexpected diagnostics: %v", diags.Err())
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != sdk.Error || diags[0].Summary != c.summary {
				t.Fatalf("want one error %q, got %#v", c.summary, diags)
			}
			if got := sdk.FormatPath(diags[0].Attribute); got != c.path {
				t.Errorf("path: got %q, want %q", got, c.path)
			}
		})
	}
}

func TestPlanWithUnknownAndSensitiveConfig(t *testing.T) {
	p := launch(t, LaunchConfig{})
	res, err := p.Plan(t.Context(), PlanRequest{Action: "echo", StepID: "s1", Config: obj(map[string]cty.Value{
		"message": cty.UnknownVal(cty.String),
		"secret":  cty.StringVal("hunter2").Mark(sdk.Sensitive),
	})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics.Err())
	}
	if res.Summary != "echo a message" || res.Change != "+ message" || res.Fingerprint != "fp-s1" {
		t.Errorf("plan: %+v", res)
	}
	if wd, _ := os.Getwd(); !res.ReadPathsReported || !slices.Equal(res.ReadPaths, []string{filepath.Join(wd, "echo.txt")}) {
		t.Errorf("read paths: %q (reported: %v), want echo.txt in %s", res.ReadPaths, res.ReadPathsReported, wd)
	}
	planned := res.PlannedOutputs
	for _, name := range []string{"message", "upper", "token", "extra"} {
		if planned.GetAttr(name).IsKnown() {
			t.Errorf("planned output %s should be unknown, got %#v", name, planned.GetAttr(name))
		}
	}
	if !planned.GetAttr("token").HasMark(sdk.Sensitive) {
		t.Error("planned sensitive output lost its mark")
	}

	res, err = p.Plan(t.Context(), PlanRequest{Action: "echo", Config: obj(map[string]cty.Value{"message": cty.StringVal("hi")})})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.PlannedOutputs.GetAttr("message"); !got.RawEquals(cty.StringVal("hi")) {
		t.Errorf("planned message: %#v", got)
	}
}

func TestApplyStreamsEventsAndRemarksOutputs(t *testing.T) {
	var logs bytes.Buffer
	var logsMu sync.Mutex
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: lockedWriter{&logs, &logsMu}})
	p := launch(t, LaunchConfig{Logger: logger})
	extra := obj(map[string]cty.Value{"n": cty.NumberIntVal(3), "l": cty.TupleVal([]cty.Value{cty.True, cty.StringVal("x")})})
	var events []Event
	res, err := p.Apply(t.Context(), ApplyRequest{Action: "echo", StepID: "s1", Config: obj(map[string]cty.Value{
		"message":  cty.StringVal("hello"),
		"secret":   cty.StringVal("hunter2").Mark(sdk.Sensitive),
		"tags":     cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		"extra":    extra,
		"settings": obj(map[string]cty.Value{"level": cty.NumberIntVal(2)}),
	})}, func(ev Event) { events = append(events, ev) })
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Kind: EventLog, Stream: "stdout", Line: "hello"},
		{Kind: EventLog, Stream: "stderr", Line: "tags: a,b"},
		{Kind: EventProgress, Fraction: 0.5, Message: "halfway"},
	}
	if len(events) != 4 {
		t.Fatalf("got %d events: %+v", len(events), events)
	}
	for i, w := range want {
		if events[i] != w {
			t.Errorf("event %d: got %+v, want %+v", i, events[i], w)
		}
	}
	if a := events[3].Artifact; events[3].Kind != EventArtifact || a.Name != "report.txt" || string(a.Data) != "report of hello" {
		t.Errorf("artifact event: %+v", events[3])
	}
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Severity != sdk.Warning {
		t.Errorf("want one warning, got %v", res.Diagnostics)
	}
	out := res.Outputs
	if got := out.GetAttr("upper"); !got.RawEquals(cty.StringVal("HELLO")) {
		t.Errorf("upper: %#v", got)
	}
	if !out.GetAttr("secret").HasMark(sdk.Sensitive) {
		t.Error("an output copied from a sensitive input lost its mark")
	}
	if !out.GetAttr("token").HasMark(sdk.Sensitive) {
		t.Error("an output sensitive by schema is not marked")
	}
	if out.GetAttr("message").IsMarked() {
		t.Error("a plain output is marked")
	}
	if got := out.GetAttr("extra"); !got.RawEquals(extra) {
		t.Errorf("dynamic output: got %#v, want %#v", got, extra)
	}

	// Stray output travels on its own stream, beside the Apply call: wait
	// for it (a bounded wait; the test fails if it never comes).
	logged := func() string { logsMu.Lock(); defer logsMu.Unlock(); return logs.String() }
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(logged(), "stray stderr output") {
			break
		}
	}
	p.Close()
	for _, want := range []string{"echo applying", "stray stderr output"} {
		if !strings.Contains(logged(), want) {
			t.Errorf("host log lacks %q:\n%s", want, logged())
		}
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// applyUntilWaiting starts a long wait and returns once the plugin is in it.
func applyUntilWaiting(t *testing.T, ctx context.Context, p *Plugin) (<-chan *ApplyResult, <-chan error) {
	started := make(chan struct{})
	results, errs := make(chan *ApplyResult, 1), make(chan error, 1)
	go func() {
		var once sync.Once
		res, err := p.Apply(ctx, ApplyRequest{Action: "wait", Config: obj(map[string]cty.Value{"duration": cty.StringVal("1h")})},
			func(Event) { once.Do(func() { close(started) }) })
		results <- res
		errs <- err
	}()
	select {
	case <-started:
	case err := <-errs:
		t.Fatalf("apply ended early: %v", err)
	}
	return results, errs
}

// A cancelled Apply is asked to stop (Cancel) and ends with the action's
// own result, so the host learns when its clean-up is done.
func TestCancelledApplyReturnsAndPluginStaysUsable(t *testing.T) {
	p := launch(t, LaunchConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	results, errs := applyUntilWaiting(t, ctx, p)
	cancel()
	res, err := <-results, <-errs
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrPluginExited) || res == nil || !res.Diagnostics.HasErrors() || res.Diagnostics[0].Summary != "Cancelled" {
		t.Fatalf("want context.Canceled with the action's own result, got %v, %v", res, err)
	}
	res, err = p.Apply(t.Context(), ApplyRequest{Action: "echo", Config: obj(map[string]cty.Value{"message": cty.StringVal("again")})}, nil)
	if err != nil || res.Diagnostics.HasErrors() {
		t.Fatalf("plugin unusable after a cancel: %v %v", err, res)
	}
}

func TestStopCancelsRunningActions(t *testing.T) {
	p := launch(t, LaunchConfig{})
	results, errs := applyUntilWaiting(t, t.Context(), p)
	if err := p.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err := <-results, <-errs
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != "Cancelled" {
		t.Fatalf("want the action's Cancelled error, got %v", res.Diagnostics)
	}
}

func TestCrashedPluginFailsInFlightApply(t *testing.T) {
	p := launch(t, LaunchConfig{})
	var lines []string
	_, err := p.Apply(t.Context(), ApplyRequest{Action: "crash", Config: obj(nil)}, func(ev Event) { lines = append(lines, ev.Line) })
	if !errors.Is(err, ErrPluginExited) {
		t.Fatalf("apply of a crashing plugin: %v; want ErrPluginExited", err)
	}
	if len(lines) != 1 || lines[0] != "about to crash" {
		t.Errorf("events before the crash: %q", lines)
	}
	// go-plugin notices the exit asynchronously; the next call must fail
	// rather than hang.
	if _, err := p.Plan(t.Context(), PlanRequest{Action: "echo", Config: obj(map[string]cty.Value{"message": cty.StringVal("x")})}); !errors.Is(err, ErrPluginExited) {
		t.Fatalf("plan on a dead plugin: %v; want ErrPluginExited", err)
	}
	for i := 0; !p.Exited() && i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if !p.Exited() {
		t.Error("Exited() is false after the plugin died")
	}
}

func TestPanicInActionBecomesDiagnostic(t *testing.T) {
	p := launch(t, LaunchConfig{})
	res, err := p.Plan(t.Context(), PlanRequest{Action: "panic", Config: obj(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diagnostics) != 1 || !strings.Contains(res.Diagnostics[0].Detail, "plan exploded") {
		t.Fatalf("diagnostics: %v", res.Diagnostics)
	}
	ares, err := p.Apply(t.Context(), ApplyRequest{Action: "panic", Config: obj(nil)}, nil)
	if err != nil || !ares.Diagnostics.HasErrors() {
		t.Fatalf("apply: %v %v", err, ares)
	}
	if p.Exited() {
		t.Fatal("a panicking action took the plugin down")
	}
}

func TestConcurrentApplies(t *testing.T) {
	p := launch(t, LaunchConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			msg := fmt.Sprintf("m%d", i)
			var got []string
			res, err := p.Apply(t.Context(), ApplyRequest{Action: "echo", Config: obj(map[string]cty.Value{"message": cty.StringVal(msg)})},
				func(ev Event) {
					if ev.Kind == EventLog && ev.Stream == "stdout" {
						got = append(got, ev.Line)
					}
				})
			switch {
			case err != nil:
				errs <- err
			case !res.Outputs.GetAttr("message").RawEquals(cty.StringVal(msg)):
				errs <- fmt.Errorf("%s: outputs %#v", msg, res.Outputs)
			case len(got) != 1 || got[0] != msg:
				errs <- fmt.Errorf("%s: events %q", msg, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestChecksum(t *testing.T) {
	data, err := os.ReadFile(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	launch(t, LaunchConfig{SHA256: sum[:]})

	wrong := sha256.Sum256([]byte("something else"))
	_, err = Launch(t.Context(), LaunchConfig{Path: testPlugin, SHA256: wrong[:]})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("want a checksum mismatch, got %v", err)
	}
}

func TestLaunchRefusesNonPlugins(t *testing.T) {
	script := filepath.Join(t.TempDir(), "pipectl-plugin-fake")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Launch(t.Context(), LaunchConfig{Path: script}); err == nil {
		t.Fatal("a script that is not a plugin was launched")
	}
	if _, err := Launch(t.Context(), LaunchConfig{Path: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Fatal("a missing binary was launched")
	}
}

func TestCloseIsIdempotentAndKillsTheProcessGroup(t *testing.T) {
	p := launch(t, LaunchConfig{})
	pgid := p.Pid()
	if got, err := syscall.Getpgid(pgid); err != nil || got != pgid {
		t.Fatalf("plugin is not its own process group leader: pgid %d, err %v", got, err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { p.Close() })
	}
	wg.Wait()
	if !p.Exited() {
		t.Error("plugin still running after Close")
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still has members (kill -0: %v)", pgid, err)
	}
	if _, err := p.Schema(t.Context()); err == nil {
		// the schema is cached only after a first call; none was made
		t.Error("a call on a closed plugin succeeded")
	}
}

func TestSettingsReachActions(t *testing.T) {
	p := launch(t, LaunchConfig{})
	s, err := p.Schema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Settings == nil || !s.Settings.Attributes["token"].Sensitive || s.Settings.Attributes["greeting"].Description == "" {
		t.Fatalf("settings schema did not cross the wire: %+v", s.Settings)
	}
	diags, err := p.Configure(t.Context(), obj(map[string]cty.Value{
		"greeting": cty.StringVal("ahoy"), "token": cty.StringVal("s3cret").Mark(sdk.Sensitive),
	}))
	if err != nil || len(diags) > 0 {
		t.Fatalf("Configure: %v %v", diags, err)
	}
	res, err := p.Apply(t.Context(), ApplyRequest{Action: "greet", Config: obj(map[string]cty.Value{"name": cty.StringVal("Ann")})}, nil)
	if err != nil || res.Diagnostics.HasErrors() {
		t.Fatalf("Apply: %v %v", res, err)
	}
	if got := res.Outputs.GetAttr("said").AsString(); got != "ahoy, Ann" {
		t.Errorf("said %q, want the configured greeting", got)
	}
	if !res.Outputs.GetAttr("token_set").True() {
		t.Error("the sensitive setting did not arrive")
	}
	if _, err := p.Configure(t.Context(), cty.EmptyObjectVal); err == nil {
		t.Error("a second Configure was accepted")
	}
}

func TestRefusedSettingsFailEveryCall(t *testing.T) {
	p := launch(t, LaunchConfig{})
	diags, err := p.Configure(t.Context(), obj(map[string]cty.Value{"greeting": cty.StringVal("refuse")}))
	if err != nil {
		t.Fatal(err)
	}
	if len(diags) != 1 || diags[0].Summary != "Greeting refused" || sdk.FormatPath(diags[0].Attribute) != "greeting" {
		t.Fatalf("diagnostics = %v", diags)
	}
	res, err := p.Plan(t.Context(), PlanRequest{Action: "greet", Config: obj(map[string]cty.Value{"name": cty.StringVal("Ann")})})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Diagnostics.HasErrors() || !strings.Contains(res.Diagnostics.Err().Error(), "Greeting refused") {
		t.Errorf("Plan after refused settings: %v", res.Diagnostics)
	}
}

func TestUnknownSettingIsRefused(t *testing.T) {
	p := launch(t, LaunchConfig{})
	diags, err := p.Configure(t.Context(), obj(map[string]cty.Value{"greting": cty.StringVal("hi")}))
	if err != nil {
		t.Fatal(err)
	}
	if !diags.HasErrors() || !strings.Contains(diags.Err().Error(), "greting") {
		t.Errorf("diagnostics = %v", diags)
	}
}

// A host that never calls ConfigurePlugin (older than it) still gets a
// configured plugin: Configure runs with every setting null.
func TestUnconfiguredPluginUsesDefaults(t *testing.T) {
	p := launch(t, LaunchConfig{})
	res, err := p.Apply(t.Context(), ApplyRequest{Action: "greet", Config: obj(map[string]cty.Value{"name": cty.StringVal("Ann")})}, nil)
	if err != nil || res.Diagnostics.HasErrors() {
		t.Fatalf("Apply: %v %v", res, err)
	}
	if got := res.Outputs.GetAttr("said").AsString(); got != "hello, Ann" {
		t.Errorf("said %q", got)
	}
}

// ValidateConfig's checks guard Plan and Apply too, whatever the host calls.
func TestValidateConfigRunsBeforePlanAndApply(t *testing.T) {
	p := launch(t, LaunchConfig{})
	bad := obj(map[string]cty.Value{"message": cty.StringVal("bad")})
	plan, err := p.Plan(t.Context(), PlanRequest{Action: "echo", Config: bad})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Diagnostics) != 1 || plan.Diagnostics[0].Summary != "Message is bad" || plan.Summary != "" {
		t.Errorf("Plan of an invalid config: %+v", plan)
	}
	var events []Event
	res, err := p.Apply(t.Context(), ApplyRequest{Action: "echo", Config: bad}, func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diagnostics) != 1 || sdk.FormatPath(res.Diagnostics[0].Attribute) != "message" || len(events) > 0 {
		t.Errorf("Apply of an invalid config ran: %v, %d events", res.Diagnostics, len(events))
	}
}

func TestPlanKind(t *testing.T) {
	p := launch(t, LaunchConfig{})
	s, _ := p.Schema(t.Context())
	if !s.Actions["echo"].HasValidateConfig || s.Actions["wait"].HasValidateConfig {
		t.Errorf("HasValidateConfig: echo %v, wait %v", s.Actions["echo"].HasValidateConfig, s.Actions["wait"].HasValidateConfig)
	}
	if !s.Actions["greet"].AlwaysApply || s.Actions["echo"].AlwaysApply {
		t.Errorf("AlwaysApply does not cross the wire: greet %v, echo %v", s.Actions["greet"].AlwaysApply, s.Actions["echo"].AlwaysApply)
	}
	for action, want := range map[string]sdk.PlanKind{
		"greet": sdk.PlanNoChange, // said so
		"echo":  sdk.PlanChange,   // unspecified, with a change
		"wait":  sdk.PlanRun,      // unspecified, without
	} {
		cfg := map[string]cty.Value{
			"greet": obj(map[string]cty.Value{"name": cty.StringVal("x")}),
			"echo":  obj(map[string]cty.Value{"message": cty.StringVal("x")}),
			"wait":  obj(map[string]cty.Value{"duration": cty.StringVal("1s")}),
		}[action]
		res, err := p.Plan(t.Context(), PlanRequest{Action: action, Config: cfg})
		if err != nil || res.Diagnostics.HasErrors() {
			t.Fatalf("%s: %v %v", action, res, err)
		}
		if res.Kind != want {
			t.Errorf("%s: kind %s, want %s", action, res.Kind, want)
		}
	}
}

// Closing a plugin cancels what it still runs, and the actions clean up
// before it exits (the controller's Shutdown): why pipectl, which closes
// its plugins as it ends, never calls Stop.
func TestCloseCancelsRunningActions(t *testing.T) {
	p := launch(t, LaunchConfig{})
	marker := filepath.Join(t.TempDir(), "cancelled")
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		var once sync.Once
		_, err := p.Apply(t.Context(), ApplyRequest{Action: "wait", Config: obj(map[string]cty.Value{
			"duration": cty.StringVal("1h"), "marker": cty.StringVal(marker)})},
			func(Event) { once.Do(func() { close(started) }) })
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("apply ended early: %v", err)
	}
	p.Close()
	if err := <-done; err == nil {
		t.Error("an Apply the plugin was closed under succeeded")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the action did not see its cancellation before the plugin exited: %v", err)
	}
}
