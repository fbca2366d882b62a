package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// buildRaw builds sdk/internal/rawplugin, which declares and implements
// what its environment says and records the calls it gets.
var buildRaw = sync.OnceValues(func() (string, error) {
	path := filepath.Join(filepath.Dir(testPlugin), "pipectl-plugin-rawplugin")
	if out, err := exec.Command("go", "build", "-o", path, "../internal/rawplugin").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building rawplugin: %v\n%s", err, out)
	}
	return path, nil
})

// launchRaw starts rawplugin with env and returns it with a function that
// lists the calls it got so far.
func launchRaw(t *testing.T, env ...string) (*Plugin, func() []string) {
	t.Helper()
	calls := filepath.Join(t.TempDir(), "calls")
	path, err := buildRaw()
	if err != nil {
		t.Fatal(err)
	}
	p := launch(t, LaunchConfig{Path: path, Env: append(env, "RAWPLUGIN_CALLS="+calls)})
	if _, err := p.Schema(t.Context()); err != nil {
		t.Fatal(err)
	}
	return p, func() []string {
		b, _ := os.ReadFile(calls)
		return strings.Fields(strings.ReplaceAll(string(b), "Apply ended", "Apply-ended"))
	}
}

// cancelApply starts the wait action, cancels it once it runs, and
// returns what Apply returned.
func cancelApply(t *testing.T, p *Plugin) (*ApplyResult, error) {
	ctx, cancel := context.WithCancel(t.Context())
	results, errs := applyUntilWaiting(t, ctx, p)
	cancel()
	return <-results, <-errs
}

func count(calls []string, name string) int {
	n := 0
	for _, c := range calls {
		if c == name {
			n++
		}
	}
	return n
}

// Cancel is optional (added after the original v1): the host calls it
// when the plugin declares it, never when the plugin declares capabilities
// without it, and for a plugin older than capabilities tries it once,
// taking Unimplemented as "not supported".
func TestCancelIsNegotiated(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         []string
		wantCancels int  // Cancel calls over two cancelled Applies
		wantResult  bool // the action's own result came back (it cleaned up)
	}{
		{"declared", []string{"RAWPLUGIN_CAPS=cancel", "RAWPLUGIN_CANCEL=1"}, 2, true},
		{"not declared", []string{"RAWPLUGIN_CAPS=plan_read_paths", "RAWPLUGIN_CANCEL=1"}, 0, false},
		{"older plugin that has it", []string{"RAWPLUGIN_CANCEL=1"}, 2, true},
		{"older plugin, Unimplemented", nil, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, calls := launchRaw(t, tc.env...)
			for range 2 {
				res, err := cancelApply(t, p)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("want context.Canceled, got %v", err)
				}
				if got := res != nil && res.Diagnostics.HasErrors() && res.Diagnostics[0].Summary == "Cancelled"; got != tc.wantResult {
					t.Errorf("the action's result came back: %v, want %v (%v)", got, tc.wantResult, res)
				}
			}
			if got := count(calls(), "Cancel"); got != tc.wantCancels {
				t.Errorf("Cancel called %d times, want %d: %q", got, tc.wantCancels, calls())
			}
		})
	}
}

// ConfigurePlugin is optional: a plugin that declares no settings is never
// called (a plugin of the original v1 has no such call), and one that
// answers Unimplemented is taken not to have it while no setting is set.
func TestConfigurePluginIsNegotiated(t *testing.T) {
	greeting := cty.ObjectVal(map[string]cty.Value{"greeting": cty.StringVal("hi")})
	unset := cty.ObjectVal(map[string]cty.Value{"greeting": cty.NullVal(cty.String)})
	for _, tc := range []struct {
		name      string
		env       []string
		settings  cty.Value
		wantCalls int
		wantErr   string
	}{
		{"declares settings", []string{"RAWPLUGIN_SETTINGS=1"}, greeting, 1, ""},
		{"declares none", nil, cty.NilVal, 0, ""},
		{"declares none, capabilities", []string{"RAWPLUGIN_CAPS="}, cty.NilVal, 0, ""},
		{"Unimplemented, nothing set", []string{"RAWPLUGIN_SETTINGS=unimplemented"}, unset, 1, ""},
		{"Unimplemented, a setting set", []string{"RAWPLUGIN_SETTINGS=unimplemented"}, greeting, 1, "ConfigurePlugin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, calls := launchRaw(t, tc.env...)
			diags, err := p.Configure(t.Context(), tc.settings)
			if tc.wantErr == "" && (err != nil || diags.HasErrors()) {
				t.Fatalf("Configure: %v %v", err, diags)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("want an error about %s, got %v", tc.wantErr, err)
			}
			if got := count(calls(), "ConfigurePlugin"); got != tc.wantCalls {
				t.Errorf("ConfigurePlugin called %d times, want %d", got, tc.wantCalls)
			}
			// The plugin serves steps either way.
			if _, err := p.Plan(t.Context(), PlanRequest{Action: "wait", Config: cty.EmptyObjectVal}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// read_paths is trusted only from a plugin that declares it: otherwise
// ReadPaths says nothing (nil, not reported), whatever the response holds.
func TestReadPathsAreNegotiated(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"declared", []string{"RAWPLUGIN_CAPS=plan_read_paths"}, []string{"/etc/hostname"}},
		{"not declared", []string{"RAWPLUGIN_CAPS=cancel"}, nil},
		{"older plugin", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := launchRaw(t, tc.env...)
			res, err := p.Plan(t.Context(), PlanRequest{Action: "wait", Config: cty.EmptyObjectVal})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.ReadPaths, tc.want) || res.ReadPathsReported != (tc.want != nil) {
				t.Errorf("read paths %q (reported %v), want %q", res.ReadPaths, res.ReadPathsReported, tc.want)
			}
		})
	}
}

// A plugin that declares plan_stream (every SDK plugin) gets its Plan calls
// over one PlanStream: many at once, each answered with its own plan, also
// when the messages are larger than gRPC's flow-control windows (a Send
// waiting for the other side to read must not stop either side reading).
func TestPlanStreamAnswersEachCall(t *testing.T) {
	p := launch(t, LaunchConfig{})
	if s, _ := p.Schema(t.Context()); !s.Capabilities.PlanStream {
		t.Fatalf("the SDK does not declare plan_stream: %+v", s.Capabilities)
	}
	planMany(t, p, 200, "")
	planMany(t, p, 32, strings.Repeat("x", 512<<10))
	if p.plans == nil {
		t.Error("the plans did not go over PlanStream")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Plan(ctx, PlanRequest{Action: "wait", Config: obj(map[string]cty.Value{"duration": cty.StringVal("1s")})}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled plan: %v", err)
	}
}

// planMany plans n echo steps at once, each message made of pad and its
// number, and checks that each gets its own answer.
func planMany(t *testing.T, p *Plugin, n int, pad string) {
	t.Helper()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			msg := fmt.Sprint(pad, "m", i)
			res, err := p.Plan(t.Context(), PlanRequest{Action: "echo", StepID: fmt.Sprint("s", i),
				Config: obj(map[string]cty.Value{"message": cty.StringVal(msg)})})
			switch {
			case err != nil:
				errs <- err
			case res.Fingerprint != fmt.Sprint("fp-s", i) || res.PlannedOutputs.GetAttr("message").AsString() != msg:
				errs <- fmt.Errorf("plan %d got %s", i, res.Fingerprint)
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A plugin that declares capabilities without plan_stream is asked Plan.
func TestPlanWithoutPlanStream(t *testing.T) {
	p, calls := launchRaw(t, "RAWPLUGIN_CAPS=cancel")
	if _, err := p.Plan(t.Context(), PlanRequest{Action: "wait", Config: cty.EmptyObjectVal}); err != nil {
		t.Fatal(err)
	}
	if got := calls(); count(got, "Plan") != 1 || p.plans != nil {
		t.Errorf("calls %q, stream %v", got, p.plans != nil)
	}
}

// A plan request over the message limit fails alone: the plans beside it,
// and the next ones, still go over the stream.
func TestPlanStreamRequestTooLarge(t *testing.T) {
	p := launch(t, LaunchConfig{})
	planMany(t, p, 1, "")
	stream := p.plans
	huge := strings.Repeat("x", wire.MaxMessageSize)
	_, err := p.Plan(t.Context(), PlanRequest{Action: "echo", Config: obj(map[string]cty.Value{"message": cty.StringVal(huge)})})
	if status.Code(errors.Unwrap(err)) != codes.ResourceExhausted {
		t.Fatalf("a request over the limit: %v", err)
	}
	if err := stream.ended(); err != nil || p.plans != stream {
		t.Errorf("the stream ended with it: %v", err)
	}
	planMany(t, p, 4, "")
}

// A plugin that declares apply_stream (every SDK plugin) gets its Apply
// calls over one ApplyStream: many at once, each with its own events and
// result, also when the messages are larger than gRPC's flow-control
// windows.
func TestApplyStreamCarriesEachCall(t *testing.T) {
	p := launch(t, LaunchConfig{})
	if s, _ := p.Schema(t.Context()); !s.Capabilities.ApplyStream {
		t.Fatalf("the SDK does not declare apply_stream: %+v", s.Capabilities)
	}
	applyMany(t, p, 200, "")
	stream := p.applies
	applyMany(t, p, 32, strings.Repeat("x", 512<<10))
	if stream == nil || p.applies != stream {
		t.Error("the applies did not all go over one ApplyStream")
	}
}

// applyMany applies n echo steps at once, each message made of pad and
// its number, and checks that each gets its own events and outputs.
func applyMany(t *testing.T, p *Plugin, n int, pad string) {
	t.Helper()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			msg := fmt.Sprint(pad, "m", i)
			var stdout strings.Builder // a long line comes in pieces (sdk.MaxLogLine)
			res, err := p.Apply(t.Context(), ApplyRequest{Action: "echo", StepID: fmt.Sprint("s", i),
				Config: obj(map[string]cty.Value{"message": cty.StringVal(msg)})},
				func(ev Event) {
					if ev.Kind == EventLog && ev.Stream == "stdout" {
						stdout.WriteString(ev.Line)
					}
				})
			switch {
			case err != nil:
				errs <- err
			case res.Outputs.GetAttr("message").AsString() != msg || stdout.String() != msg:
				errs <- fmt.Errorf("apply %d: stdout %.40q", i, stdout.String())
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A plugin that declares capabilities without apply_stream is asked Apply,
// once per step.
func TestApplyWithoutApplyStream(t *testing.T) {
	p, calls := launchRaw(t, "RAWPLUGIN_CAPS=cancel", "RAWPLUGIN_CANCEL=1")
	if _, err := cancelApply(t, p); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if got := calls(); count(got, "Apply") != 1 || count(got, "ApplyStream") != 0 || p.applies != nil {
		t.Errorf("calls %q, stream %v", got, p.applies != nil)
	}
}

// A cancelled Apply on ApplyStream is cancelled on the stream: the
// action's own result comes back once it cleaned up; a plugin that does
// not clean up gets CancelGrace, after which the call returns alone and
// the stream goes on.
func TestApplyStreamCancel(t *testing.T) {
	p, calls := launchRaw(t, "RAWPLUGIN_CAPS=apply_stream,cancel", "RAWPLUGIN_CANCEL=1")
	for range 2 {
		res, err := cancelApply(t, p)
		if !errors.Is(err, context.Canceled) || res == nil || res.Diagnostics[0].Summary != "Cancelled" {
			t.Fatalf("want context.Canceled with the action's result, got %v %v", res, err)
		}
	}
	if got := calls(); count(got, "ApplyStream") != 1 || count(got, "Apply") != 2 || count(got, "ApplyStream-cancel") != 2 || count(got, "Cancel") != 0 {
		t.Errorf("calls %q", got)
	}

	p, calls = launchRaw(t, "RAWPLUGIN_CAPS=apply_stream,cancel")
	start := time.Now()
	res, err := cancelApply(t, p)
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("want context.Canceled and no result, got %v %v", res, err)
	}
	if waited := time.Since(start); waited < CancelGrace || waited > CancelGrace+3*time.Second {
		t.Errorf("returned after %s, want the grace of %s", waited, CancelGrace)
	}
	if count(calls(), "ApplyStream-cancel") != 1 || p.applies.ended() != nil {
		t.Errorf("calls %q, stream ended: %v", calls(), p.applies.ended())
	}
}

// An apply request over the message limit fails alone: the calls after
// it still go over the stream.
func TestApplyStreamRequestTooLarge(t *testing.T) {
	p := launch(t, LaunchConfig{})
	applyMany(t, p, 1, "")
	stream := p.applies
	huge := strings.Repeat("x", wire.MaxMessageSize)
	_, err := p.Apply(t.Context(), ApplyRequest{Action: "echo", Config: obj(map[string]cty.Value{"message": cty.StringVal(huge)})}, nil)
	if status.Code(errors.Unwrap(err)) != codes.ResourceExhausted {
		t.Fatalf("a request over the limit: %v", err)
	}
	if err := stream.ended(); err != nil || p.applies != stream {
		t.Errorf("the stream ended with it: %v", err)
	}
	applyMany(t, p, 4, "")
}
