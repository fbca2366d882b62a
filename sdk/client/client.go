// Package client is the host side of the pipectl plugin protocol: it starts
// a plugin binary, checks its checksum and handshake, and calls its actions.
// The engine uses it to run steps; sdk/plugintest uses it to test plugins.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pipectl/pipectl/sdk"
	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// LaunchConfig says which plugin binary to start and how.
type LaunchConfig struct {
	Path   string // the plugin binary
	SHA256 []byte // optional: its expected checksum (from the lock file)
	// Sums, when set with SHA256, remembers the binaries found to match
	// their checksum, so that one not changed since is not hashed again
	// (checksum.go).
	Sums   SumCache
	Logger hclog.Logger // the plugin's logs and stray output go here
	Env    []string     // added to the host's environment
	// StartTimeout bounds the wait for the plugin's handshake (default
	// DefaultStartTimeout): a plugin that hangs before it is a failure
	// that says so, not a silent wait.
	StartTimeout time.Duration
}

// ErrStartTimeout is the error of a plugin that did not start in time.
var ErrStartTimeout = errors.New("it hangs, or is not a pipectl plugin")

// DefaultStartTimeout is how long Launch waits for a plugin's handshake.
const DefaultStartTimeout = time.Minute

// Plugin is a running plugin process. Its methods are safe for concurrent
// use; one process serves every step of a run.
type Plugin struct {
	name   string
	client *plugin.Client
	rpc    pb.PluginClient
	proc   atomic.Pointer[procRunner] // set once go-plugin starts the process
	stdio  []io.Closer                // the log writers for the plugin's stray output
	mtls   *launchTLS

	schemaMu sync.Mutex
	schema   *sdk.Schema

	// unsupported holds the optional calls a plugin older than
	// capabilities answered Unimplemented: never tried again.
	unsupported sync.Map

	calls atomic.Int64 // Apply call ids

	streamMu sync.Mutex
	plans    *planStream  // Plan calls, when the plugin declares PlanStream
	applies  *applyStream // Apply calls, when it declares ApplyStream

	closeOnce sync.Once
}

// Launch starts the plugin in its own process group, checks its checksum
// (when cfg.SHA256 is set), does the handshake and sets up mutual TLS.
// Cancelling ctx aborts a launch still in progress.
func Launch(ctx context.Context, cfg LaunchConfig) (*Plugin, error) {
	name := filepath.Base(cfg.Path)
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	logger = logger.Named(name)
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	stdout, stderr := logWriter(logger, "stdout"), logWriter(logger, "stderr")
	startTimeout := cfg.StartTimeout
	if startTimeout <= 0 {
		startTimeout = DefaultStartTimeout
	}
	mtls, err := newLaunchTLS()
	if err != nil {
		return nil, fmt.Errorf("plugin %s: TLS certificates: %w", name, err)
	}
	p := &Plugin{name: name, stdio: []io.Closer{stdout, stderr}, mtls: mtls}
	p.client = plugin.NewClient(&plugin.ClientConfig{
		StartTimeout:    startTimeout,
		HandshakeConfig: wire.Handshake,
		Plugins:         plugin.PluginSet{wire.PluginName: &grpcPlugin{}},
		// go-plugin hands over its command: its environment (handshake,
		// TLS certificate) and stdin; the rest is ours.
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			if len(cfg.SHA256) > 0 { // again, right before it runs
				if err := checkSum(cfg.Path, cfg.SHA256, cfg.Sums); err != nil {
					return nil, err
				}
			}
			cmd.Path, cmd.Args = cfg.Path, []string{cfg.Path}
			cmd.Env = append(append(pluginEnv(os.Environ()), cfg.Env...), cmd.Env...)
			cmd.Env = append(cmd.Env, mtls.env...)
			setProcessGroup(cmd)
			r, err := newProcRunner(cmd)
			p.proc.Store(r)
			return r, err
		},
		// Each plugin's socket directory is made fresh inside the one the
		// host's environment names, if any, so that setting honours it.
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: os.Getenv("PLUGIN_UNIX_SOCKET_DIR")},
		SkipHostEnv:      true, // pluginEnv: the host's without secrets
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		TLSConfig:        mtls.config, // AutoMTLS, with a server certificate offered (mtls.go)
		Logger:           logger,
		Stderr:           io.Discard, // non-JSON stderr lines are logged by go-plugin too
		SyncStdout:       stdout,
		SyncStderr:       stderr,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(wire.MaxMessageSize),
			grpc.MaxCallSendMsgSize(wire.MaxMessageSize))},
	})
	type started struct {
		rpc pb.PluginClient
		err error
	}
	ch := make(chan started, 1)
	go func() {
		rpc, err := dispense(p.client)
		ch <- started{rpc, err}
	}()
	select {
	case s := <-ch:
		if s.err != nil {
			p.Close()
			return nil, p.startErr(s.err, startTimeout)
		}
		p.rpc = s.rpc
	case <-ctx.Done():
		if r := p.proc.Load(); r != nil {
			_ = r.Kill(ctx) // the handshake then fails at once
		}
		go func() { <-ch; p.Close() }()
		return nil, fmt.Errorf("plugin %s: launch cancelled: %w", name, ctx.Err())
	}
	return p, nil
}

// startErr explains a plugin that did not start, once it is closed: one
// that hung, or one that exited (with its status and the start of its
// stderr, where it usually says why) instead of go-plugin's guesses.
func (p *Plugin) startErr(err error, timeout time.Duration) error {
	if strings.Contains(err.Error(), "timeout while waiting for plugin to start") {
		return fmt.Errorf("plugin %s did not complete its handshake within %s: %w", p.name, timeout, ErrStartTimeout)
	}
	r := p.proc.Load()
	if r == nil {
		return fmt.Errorf("plugin %s: %w", p.name, err)
	}
	msg := err.Error()
	if st := r.cmd.ProcessState; st != nil && st.Exited() {
		msg = fmt.Sprintf("exited with status %d before its handshake (is it a pipectl plugin?)", st.ExitCode())
	}
	if out := strings.TrimSpace(r.stderrHead()); out != "" {
		msg += "; its stderr:\n    " + strings.ReplaceAll(out, "\n", "\n    ")
	} else {
		msg += "; it wrote nothing on stderr"
	}
	return fmt.Errorf("plugin %s %s", p.name, msg)
}

// pluginEnv is the host's environment without pipectl's variables
// (PIPECTL_VAR_*, which may hold secrets): a plugin gets the values its
// steps' configs ask for, and passes the rest of the environment to what
// it runs (an exec step's command).
func pluginEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PIPECTL_VAR_") {
			out = append(out, kv)
		}
	}
	return out
}

func dispense(pc *plugin.Client) (pb.PluginClient, error) {
	rpcClient, err := pc.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpcClient.Dispense(wire.PluginName)
	if err != nil {
		return nil, err
	}
	return raw.(pb.PluginClient), nil
}

// Schema returns the plugin's schema, asking the plugin once.
func (p *Plugin) Schema(ctx context.Context) (*sdk.Schema, error) {
	p.schemaMu.Lock()
	defer p.schemaMu.Unlock()
	if p.schema != nil {
		return p.schema, nil
	}
	resp, err := p.rpc.GetSchema(ctx, &pb.GetSchema_Request{})
	if err != nil {
		return nil, p.callErr("GetSchema", err)
	}
	s, err := decodeSchema(resp)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: invalid schema: %w", p.name, err)
	}
	p.schema = s
	return s, nil
}

// ValidateConfig checks one step's config statically (it may contain
// unknown values). Problems with the config come back as diagnostics;
// the error is for failures to talk to the plugin.
func (p *Plugin) ValidateConfig(ctx context.Context, action string, config cty.Value) (sdk.Diagnostics, error) {
	dv, err := wire.EncodeValue(config)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %s config: %w", p.name, action, err)
	}
	resp, err := p.rpc.ValidateConfig(ctx, &pb.ValidateConfig_Request{Action: action, Config: dv})
	if err != nil {
		return nil, p.callErr("ValidateConfig", err)
	}
	return decodeDiags(resp.Diagnostics)
}

// Configure sends the plugin block's settings (wholly known; cty.NilVal:
// none). Call it once, before any call but Schema. Problems with the
// settings come back as diagnostics whose paths point into the plugin block.
//
// A plugin that declares no settings is not called at all: it has nothing to
// receive, and one older than ConfigurePlugin does not implement it. One that
// declares settings but answers Unimplemented cannot receive them: an error
// when any is set.
func (p *Plugin) Configure(ctx context.Context, settings cty.Value) (sdk.Diagnostics, error) {
	schema, err := p.Schema(ctx)
	if err != nil {
		return nil, err
	}
	if schema.Settings == nil {
		return nil, nil
	}
	if settings == cty.NilVal {
		settings = cty.EmptyObjectVal
	}
	dv, err := wire.EncodeValue(settings)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: settings: %w", p.name, err)
	}
	resp, err := p.rpc.ConfigurePlugin(ctx, &pb.ConfigurePlugin_Request{Config: dv})
	if status.Code(err) == codes.Unimplemented && !anySet(settings) {
		return nil, nil
	}
	if err != nil {
		return nil, p.callErr("ConfigurePlugin", err)
	}
	return decodeDiags(resp.Diagnostics)
}

// anySet reports whether a settings object has an attribute that is not null.
func anySet(settings cty.Value) bool {
	if settings.IsNull() || !settings.CanIterateElements() {
		return false
	}
	for it := settings.ElementIterator(); it.Next(); {
		if _, v := it.Element(); !v.IsNull() {
			return true
		}
	}
	return false
}

// capabilities are what the plugin declared in its schema (asked once);
// none when it cannot say.
func (p *Plugin) capabilities(ctx context.Context) sdk.Capabilities {
	s, err := p.Schema(ctx)
	if err != nil {
		return sdk.Capabilities{}
	}
	return s.Capabilities
}

// supports decides whether to make an optional call: as the plugin
// declares, or, for a plugin older than capabilities, until it has
// answered Unimplemented (see unimplemented).
func (p *Plugin) supports(caps sdk.Capabilities, method string, declared bool) bool {
	if caps.Declared {
		return declared
	}
	_, no := p.unsupported.Load(method)
	return !no
}

// unimplemented reports whether err says the plugin has no such call, and
// remembers it so that the call is not made again.
func (p *Plugin) unimplemented(method string, err error) bool {
	if status.Code(err) != codes.Unimplemented {
		return false
	}
	p.unsupported.Store(method, true)
	return true
}

// PlanRequest asks what an action would do.
type PlanRequest struct {
	Action string
	StepID string
	Config cty.Value // may be marked sensitive and contain unknowns
}

// PlanResult is what the action would do.
type PlanResult struct {
	Kind            sdk.PlanKind // never PlanUnspecified: derived from Change for older plugins
	Summary, Change string
	PlannedOutputs  cty.Value // unknown where known only after apply
	Fingerprint     string
	// ReadPaths are the files and directories the plan read, absolute (a
	// directory stands for every file under it). ReadPathsReported says the
	// plugin reports them (Capabilities.PlanReadPaths), so an empty list
	// means it read none; without it ReadPaths is nil and says nothing.
	ReadPaths         []string
	ReadPathsReported bool
	Diagnostics       sdk.Diagnostics
}

// Plan asks the plugin what the action would do.
func (p *Plugin) Plan(ctx context.Context, req PlanRequest) (*PlanResult, error) {
	dv, err := wire.EncodeValue(req.Config)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %s config: %w", p.name, req.Action, err)
	}
	resp, err := p.plan(ctx, &pb.Plan_Request{Action: req.Action, StepId: req.StepID, Config: dv})
	if err != nil {
		return nil, p.callErr("Plan", err)
	}
	diags, err := decodeDiags(resp.Diagnostics)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: Plan: %w", p.name, err)
	}
	planned, err := wire.DecodeValue(resp.PlannedOutputs)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: Plan: planned outputs: %w", p.name, err)
	}
	res := &PlanResult{Kind: planKind(resp), Summary: resp.Summary, Change: resp.Change, PlannedOutputs: planned,
		Fingerprint: resp.Fingerprint, Diagnostics: diags}
	if p.capabilities(ctx).PlanReadPaths {
		res.ReadPaths, res.ReadPathsReported = resp.ReadPaths, true
	}
	return res, nil
}

// plan makes one Plan call, over the plugin's PlanStream when it has one.
func (p *Plugin) plan(ctx context.Context, req *pb.Plan_Request) (*pb.Plan_Response, error) {
	if !p.capabilities(ctx).PlanStream {
		return p.rpc.Plan(ctx, req)
	}
	s, err := current(&p.streamMu, &p.plans, func() (*planStream, error) { return openPlanStream(p.rpc) })
	if err != nil {
		return nil, err
	}
	return planOver(ctx, s, req)
}

// current is the stream *s, opened on first use and again after it ended
// (not with the plugin: a broken connection), under mu.
func current[Req, Resp any](mu *sync.Mutex, s **callStream[Req, Resp], open func() (*callStream[Req, Resp], error)) (*callStream[Req, Resp], error) {
	mu.Lock()
	defer mu.Unlock()
	if *s == nil || (*s).ended() != nil {
		fresh, err := open()
		if err != nil {
			return nil, err
		}
		*s = fresh
	}
	return *s, nil
}

// planKind is what the plugin said, or for a plugin older than the field:
// a change when it described one, a run otherwise.
func planKind(resp *pb.Plan_Response) sdk.PlanKind {
	switch k := sdk.PlanKind(resp.Kind); {
	case k >= sdk.PlanNoChange && k <= sdk.PlanRun:
		return k
	case resp.Change != "":
		return sdk.PlanChange
	}
	return sdk.PlanRun
}

// ApplyRequest asks the plugin to do an action.
type ApplyRequest struct {
	Action string
	StepID string
	Config cty.Value // wholly known
}

// ApplyResult is what an action did.
type ApplyResult struct {
	Outputs     cty.Value // sensitive paths re-marked
	Diagnostics sdk.Diagnostics
	Summary     string // what the action did, one line; "" from plugins that do not say
}

// EventKind tells what an Event carries.
type EventKind int

const (
	EventLog      EventKind = iota + 1 // Stream and Line
	EventProgress                      // Fraction and Message
	EventArtifact                      // Artifact
)

// Event is something an action reports while it applies.
type Event struct {
	Kind     EventKind
	Stream   string // stdout or stderr
	Line     string
	Fraction float64 // 0..1, negative when unknown
	Message  string
	Artifact *Artifact
}

// Artifact is a file an action attaches to the run: a report, a document.
type Artifact struct {
	Name, MediaType string
	Data            []byte
}

// Apply runs the action, calling onEvent (which may be nil) for every event
// in order, from the calling goroutine. Cancelling ctx (or its deadline)
// cancels the action in the plugin and waits up to CancelGrace for it to
// clean up: a failed result then comes with an error wrapping ctx.Err(). A
// plugin that dies makes Apply return an error at once. A plugin that
// declares ApplyStream gets every Apply over one stream: there, a call
// whose events are not taken holds back the plugin's other calls, so
// onEvent must not wait for another Apply of the same plugin.
func (p *Plugin) Apply(ctx context.Context, req ApplyRequest, onEvent func(Event)) (*ApplyResult, error) {
	dv, err := wire.EncodeValue(req.Config)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %s config: %w", p.name, req.Action, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plugin %s: Apply of %s: %w", p.name, req.Action, err)
	}
	callID := strconv.FormatInt(p.calls.Add(1), 10)
	call := &pb.Apply_Request{Action: req.Action, StepId: req.StepID, Config: dv, CallId: callID}
	if deadline, ok := ctx.Deadline(); ok {
		call.DeadlineUnixNano = deadline.UnixNano()
	}
	if p.capabilities(ctx).ApplyStream {
		s, err := current(&p.streamMu, &p.applies, func() (*applyStream, error) { return openApplyStream(p.rpc) })
		if err != nil {
			return nil, p.callErr("Apply", err)
		}
		return p.applyOver(ctx, s, call, onEvent)
	}
	// The stream outlives ctx by a grace: a cancelled action is asked to
	// stop (Cancel) and its result awaited, so that the step is reported
	// only once what it started is gone.
	streamCtx, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut() // ends the stream if we stop reading early
	stream, err := p.rpc.Apply(streamCtx, call)
	if err != nil {
		return nil, p.callErr("Apply", err)
	}
	defer context.AfterFunc(ctx, func() { p.cancelCall(callID, cut) })()
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return nil, fmt.Errorf("plugin %s: Apply of %s ended without a result (a bug in the plugin)", p.name, req.Action)
		}
		if err != nil {
			return nil, p.callErr("Apply", err)
		}
		if res, last, err := p.take(ctx, req.Action, msg, onEvent); last {
			return res, err
		}
	}
}

// take is one of an Apply's events: onEvent gets it, or, its result, the
// call ends with it (last).
func (p *Plugin) take(ctx context.Context, action string, msg *pb.Apply_Event, onEvent func(Event)) (_ *ApplyResult, last bool, _ error) {
	if r, ok := msg.GetEvent().(*pb.Apply_Event_Result); ok {
		res, err := p.applyResult(r.Result)
		if err == nil && ctx.Err() != nil && res.Diagnostics.HasErrors() {
			// Cleaned up after a cancel or timeout: the result, and why.
			err = fmt.Errorf("plugin %s: Apply of %s: %w", p.name, action, ctx.Err())
		}
		return res, true, err
	}
	if ev, ok := decodeEvent(msg); ok && onEvent != nil {
		onEvent(ev)
	}
	return nil, false, nil
}

func (p *Plugin) applyResult(r *pb.Apply_Result) (*ApplyResult, error) {
	diags, err := decodeDiags(r.GetDiagnostics())
	if err != nil {
		return nil, fmt.Errorf("plugin %s: Apply: %w", p.name, err)
	}
	outputs, err := wire.DecodeValue(r.GetOutputs())
	if err != nil {
		return nil, fmt.Errorf("plugin %s: Apply: outputs: %w", p.name, err)
	}
	return &ApplyResult{Outputs: outputs, Diagnostics: diags, Summary: r.GetSummary()}, nil
}

// CancelGrace is how long a cancelled Apply gets to clean up and end with
// its result (an exec step's TERM→KILL grace is 2 s) before its stream is
// cut.
const CancelGrace = 5 * time.Second

// cancelCall asks the plugin to cancel one Apply and gives it CancelGrace;
// a plugin that cannot be asked (older than Cancel, or not declaring it)
// has its stream cut now.
func (p *Plugin) cancelCall(callID string, cut context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if caps := p.capabilities(ctx); !p.supports(caps, "Cancel", caps.Cancel) {
		cut()
		return
	}
	if _, err := p.rpc.Cancel(ctx, &pb.Cancel_Request{CallId: callID}); err != nil {
		p.unimplemented("Cancel", err)
		cut()
		return
	}
	time.AfterFunc(CancelGrace, cut)
}

// Stop asks the plugin to cancel every Plan and Apply in progress.
func (p *Plugin) Stop(ctx context.Context) error {
	if _, err := p.rpc.Stop(ctx, &pb.Stop_Request{}); err != nil {
		return p.callErr("Stop", err)
	}
	return nil
}

// Close ends the plugin: gracefully first (in-flight actions are cancelled
// and clean up), then it kills the plugin's whole process group. Close is
// idempotent and safe to call concurrently; it always returns nil.
func (p *Plugin) Close() error {
	p.closeOnce.Do(func() {
		p.streamMu.Lock()
		if p.plans != nil {
			p.plans.close()
		}
		if p.applies != nil {
			p.applies.close()
		}
		p.streamMu.Unlock()
		p.client.Kill()
		if r := p.proc.Load(); r != nil {
			_ = r.Kill(context.Background()) // what a graceful exit left
		}
		for _, c := range p.stdio {
			_ = c.Close()
		}
	})
	return nil
}

// Exited reports whether the plugin process has exited.
func (p *Plugin) Exited() bool { return p.client.Exited() }

// ErrPluginExited: the plugin's process exited, or its connection broke,
// during the call (errors.Is): a host retires the plugin rather than call
// it again.
var ErrPluginExited = errors.New("plugin exited")

// exitedErr is a call's error that is also ErrPluginExited; its text is
// the call's.
type exitedErr struct{ error }

func (e exitedErr) Is(target error) bool { return target == ErrPluginExited }
func (e exitedErr) Unwrap() error        { return e.error }

// callErr explains a failed call: a dead plugin, a cancelled call, or an
// error from the plugin.
func (p *Plugin) callErr(method string, err error) error {
	switch {
	case p.client.Exited():
		return exitedErr{fmt.Errorf("plugin %s exited during %s (its log may say why): %w", p.name, method, err)}
	case status.Code(err) == codes.Unavailable: // gone, but go-plugin has not noticed yet
		return exitedErr{fmt.Errorf("plugin %s: %s: %w", p.name, method, err)}
	case status.Code(err) == codes.Canceled:
		return fmt.Errorf("plugin %s: %s: %w", p.name, method, context.Canceled)
	case status.Code(err) == codes.DeadlineExceeded:
		return fmt.Errorf("plugin %s: %s: %w", p.name, method, context.DeadlineExceeded)
	}
	return fmt.Errorf("plugin %s: %s: %w", p.name, method, err)
}

// grpcPlugin gives go-plugin the client stub for our service.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (grpcPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("sdk/client is the host side; plugins use sdk.Serve")
}

func (grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return pb.NewPluginClient(cc), nil
}
