package sdk

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// server implements the gRPC service on top of a Plugin's actions.
type server struct {
	pb.UnimplementedPluginServer
	plugin  Plugin
	schemas map[string]*ActionSchema
	types   map[string]actionTypes // built once: every call conforms to them
	schema  *pb.GetSchema_Response // encoded once: GetSchema is called per run
	logger  hclog.Logger

	mu      sync.Mutex
	running map[int]context.CancelFunc    // for Stop
	calls   map[string]context.CancelFunc // Apply calls by call_id, for Cancel
	early   map[string]bool               // ids cancelled before their Apply arrived
	nextID  int
	wg      sync.WaitGroup

	configMu   sync.Mutex
	configured bool
	configDiag Diagnostics // what Configure said: its errors fail every later call
}

func newServer(p Plugin, logger hclog.Logger) (*server, error) {
	if p.Name == "" || !validName(p.Name) {
		return nil, fmt.Errorf("plugin name %q is not valid (use letters, digits and underscores)", p.Name)
	}
	if len(p.Actions) == 0 {
		return nil, fmt.Errorf("plugin %s has no actions", p.Name)
	}
	s := &server{plugin: p, schemas: map[string]*ActionSchema{}, types: map[string]actionTypes{}, logger: logger,
		running: map[int]context.CancelFunc{}}
	for _, name := range slices.Sorted(maps.Keys(p.Actions)) {
		if !validName(name) || p.Actions[name] == nil {
			return nil, fmt.Errorf("action %q: a valid name and a non-nil Action are required", name)
		}
		sch := p.Actions[name].Schema()
		if err := sch.Validate(); err != nil {
			return nil, fmt.Errorf("action %s: invalid schema: %w", name, err)
		}
		s.schemas[name] = &sch
		s.types[name] = actionTypes{config: sch.Block.ImpliedType(), outputs: sch.OutputType()}
	}
	if p.Settings != nil {
		if err := p.Settings.validate(""); err != nil {
			return nil, fmt.Errorf("plugin settings: invalid schema: %w", err)
		}
	}
	var err error
	schema := &Schema{Name: p.Name, Version: p.Version, Settings: p.Settings, Actions: s.schemas,
		Capabilities: Capabilities{Declared: true, Cancel: true, PlanReadPaths: true, PlanStream: true, ApplyStream: true}}
	if s.schema, err = encodeSchema(schema, s.validators()); err != nil {
		return nil, err
	}
	return s, nil
}

// validators lists the actions with checks of their own, so hosts can skip
// the ValidateConfig round trip for the others.
func (s *server) validators() map[string]bool {
	out := map[string]bool{}
	for name, act := range s.plugin.Actions {
		_, out[name] = act.(ActionWithValidateConfig)
	}
	return out
}

// begin registers a call so Stop and shutdown can cancel it.
func (s *server) begin(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(hclog.WithContext(ctx, s.logger))
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.running[id] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
		cancel()
		s.wg.Done()
	}
}

func (s *server) cancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.running {
		cancel()
	}
}

// shutdown cancels what still runs and gives it a moment to clean up (an
// exec action kills its child processes) before the process exits.
func (s *server) shutdown(grace time.Duration) {
	s.cancelAll()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.logger.Warn("actions still running at shutdown", "grace", grace)
	}
}

// Cancel cancels one Apply; its stream then ends with its Result, so the
// host can wait for the action's clean-up.
func (s *server) Cancel(_ context.Context, req *pb.Cancel_Request) (*pb.Cancel_Response, error) {
	s.mu.Lock()
	cancel := s.calls[req.CallId]
	if cancel == nil && req.CallId != "" {
		if s.early == nil {
			s.early = map[string]bool{}
		}
		s.early[req.CallId] = true // the Apply is still on its way
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return &pb.Cancel_Response{}, nil
}

// track registers an Apply under its call id, for Cancel.
func (s *server) track(callID string, cancel context.CancelFunc) func() {
	if callID == "" {
		return func() {}
	}
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]context.CancelFunc{}
	}
	s.calls[callID] = cancel
	if s.early[callID] {
		delete(s.early, callID)
		cancel()
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.calls, callID)
		s.mu.Unlock()
	}
}

func (s *server) Stop(context.Context, *pb.Stop_Request) (*pb.Stop_Response, error) {
	s.cancelAll()
	return &pb.Stop_Response{}, nil
}

func (s *server) GetSchema(context.Context, *pb.GetSchema_Request) (*pb.GetSchema_Response, error) {
	return s.schema, nil
}

func (s *server) ConfigurePlugin(ctx context.Context, req *pb.ConfigurePlugin_Request) (*pb.ConfigurePlugin_Response, error) {
	ctx, done := s.begin(ctx)
	defer done()
	cfg, err := wire.DecodeValue(req.Config)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "config: %v", err)
	}
	s.configMu.Lock()
	defer s.configMu.Unlock()
	if s.configured {
		return nil, status.Error(codes.FailedPrecondition, "the plugin is already configured: ConfigurePlugin is called once per process")
	}
	s.configure(ctx, cfg)
	return &pb.ConfigurePlugin_Response{Diagnostics: encodeDiags(s.configDiag)}, nil
}

// actionTypes are the types an action's config and outputs conform to.
type actionTypes struct{ config, outputs cty.Type }

// configure conforms the settings and hands them to the plugin's Configure.
// The caller holds configMu.
func (s *server) configure(ctx context.Context, cfg cty.Value) {
	s.configured = true
	settings := s.plugin.Settings
	if settings == nil {
		settings = &Block{}
	}
	cfg, diags := conformConfig(settings, settings.ImpliedType(), cfg)
	if !diags.HasErrors() && !cfg.IsWhollyKnown() {
		diags.AddError("Plugin settings have unknown values",
			"A plugin block may use variables, env, locals and functions, but not step outputs.")
	}
	if !diags.HasErrors() && s.plugin.Configure != nil {
		var resp ConfigureResponse
		s.guard("(configure)", &resp.Diagnostics, func() {
			s.plugin.Configure(ctx, ConfigureRequest{Config: cfg}, &resp)
		})
		diags.Append(resp.Diagnostics...)
	}
	s.configDiag = diags
}

// ready configures the plugin with empty settings if the host did not (a
// host older than ConfigurePlugin), and returns Configure's errors, which
// fail every call: a plugin with bad settings serves nothing.
func (s *server) ready(ctx context.Context) Diagnostics {
	s.configMu.Lock()
	defer s.configMu.Unlock()
	if !s.configured {
		s.configure(ctx, cty.EmptyObjectVal)
	}
	if !s.configDiag.HasErrors() {
		return nil
	}
	var diags Diagnostics
	diags.AddError(fmt.Sprintf("Plugin %s is not configured", s.plugin.Name),
		fmt.Sprintf("Its settings were refused: %v", s.configDiag.Err()))
	return diags
}

// prepare finds the action and conforms its config to the schema.
func (s *server) prepare(ctx context.Context, action string, dv *pb.DynamicValue) (Action, *ActionSchema, cty.Value, Diagnostics, error) {
	if diags := s.ready(ctx); diags.HasErrors() {
		return nil, nil, cty.NilVal, diags, nil
	}
	act, ok := s.plugin.Actions[action]
	if !ok {
		var diags Diagnostics
		diags.AddError(fmt.Sprintf("Plugin %s has no action %q", s.plugin.Name, action),
			fmt.Sprintf("Its actions are: %s.", joinKeys(s.plugin.Actions)))
		return nil, nil, cty.NilVal, diags, nil
	}
	cfg, err := wire.DecodeValue(dv)
	if err != nil {
		return nil, nil, cty.NilVal, nil, status.Errorf(codes.InvalidArgument, "config: %v", err)
	}
	sch := s.schemas[action]
	cfg, diags := conformConfig(&sch.Block, s.types[action].config, cfg)
	if !diags.HasErrors() {
		diags.Append(s.validate(ctx, action, act, cfg)...)
	}
	return act, sch, cfg, diags, nil
}

// validate runs the action's own checks. Every call runs them, not only
// ValidateConfig: a config that would crash Plan or Apply (a bad regexp)
// is refused with a diagnostic on its attribute by whatever host calls.
func (s *server) validate(ctx context.Context, name string, act Action, cfg cty.Value) Diagnostics {
	v, ok := act.(ActionWithValidateConfig)
	if !ok {
		return nil
	}
	var resp ValidateConfigResponse
	s.guard(name, &resp.Diagnostics, func() {
		v.ValidateConfig(ctx, ValidateConfigRequest{Config: cfg}, &resp)
	})
	return resp.Diagnostics
}

func (s *server) ValidateConfig(ctx context.Context, req *pb.ValidateConfig_Request) (*pb.ValidateConfig_Response, error) {
	ctx, done := s.begin(ctx)
	defer done()
	_, _, _, diags, err := s.prepare(ctx, req.Action, req.Config)
	if err != nil {
		return nil, err
	}
	return &pb.ValidateConfig_Response{Diagnostics: encodeDiags(diags)}, nil
}

func (s *server) Plan(ctx context.Context, req *pb.Plan_Request) (*pb.Plan_Response, error) {
	ctx, done := s.begin(ctx)
	defer done()
	act, sch, cfg, diags, err := s.prepare(ctx, req.Action, req.Config)
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return &pb.Plan_Response{Diagnostics: encodeDiags(diags)}, nil
	}
	resp := PlanResponse{outputType: s.types[req.Action].outputs}
	s.guard(req.Action, &resp.Diagnostics, func() {
		act.Plan(ctx, PlanRequest{StepID: req.StepId, Config: cfg}, &resp)
	})
	diags.Append(resp.Diagnostics...)
	out := &pb.Plan_Response{Kind: pb.Plan_Response_Kind(resp.Kind), Summary: resp.Summary, Change: resp.Change,
		Fingerprint: resp.Fingerprint, ReadPaths: absPaths(resp.ReadPaths)}
	if !diags.HasErrors() {
		planned, odiags := conformOutputs(sch, resp.PlannedOutputs, true)
		diags.Append(odiags...)
		if out.PlannedOutputs, err = wire.EncodeValue(planned); err != nil {
			diags.AddError("Plugin returned unencodable planned outputs", err.Error())
		}
	}
	out.Diagnostics = encodeDiags(diags)
	return out, nil
}

// PlanStream plans each request as Plan does, side by side, and answers
// each under its id as soon as it is done. A request without a plan
// cancels the plan of its id.
func (s *server) PlanStream(stream pb.Plugin_PlanStreamServer) error {
	return serveStream(stream, (*pb.PlanStream_Request).GetId, func(req *pb.PlanStream_Request) bool { return req.Plan != nil },
		func(ctx context.Context, req *pb.PlanStream_Request, send func(*pb.PlanStream_Response) error) {
			resp, err := s.Plan(ctx, req.Plan)
			out := &pb.PlanStream_Response{Id: req.Id, Plan: resp}
			out.ErrorCode, out.ErrorMessage = statusOf(err)
			if err := send(out); err != nil {
				s.logger.Debug("PlanStream: the host is gone", "error", err)
			}
		})
}

// ApplyStream applies each request as Apply does, side by side, and sends
// each call's events and then its result under its id. A request without
// an apply cancels the call of its id, as Cancel does: its result follows
// once the action has cleaned up.
func (s *server) ApplyStream(stream pb.Plugin_ApplyStreamServer) error {
	return serveStream(stream, (*pb.ApplyStream_Request).GetId, func(req *pb.ApplyStream_Request) bool { return req.Apply != nil },
		func(ctx context.Context, req *pb.ApplyStream_Request, send func(*pb.ApplyStream_Response) error) {
			result, err := s.apply(ctx, req.Apply, func(ev *pb.Apply_Event) error {
				return send(&pb.ApplyStream_Response{Id: req.Id, Event: ev})
			})
			out := &pb.ApplyStream_Response{Id: req.Id, Event: &pb.Apply_Event{Event: &pb.Apply_Event_Result{Result: result}}}
			if err != nil {
				out = &pb.ApplyStream_Response{Id: req.Id}
				out.ErrorCode, out.ErrorMessage = statusOf(err)
			}
			if err := send(out); err != nil {
				s.logger.Debug("ApplyStream: the host is gone", "error", err)
			}
		})
}

// serveStream serves PlanStream and ApplyStream: each request that has a
// call (hasCall) runs side by side with the others, with a context that a
// request of the same id without a call cancels. Its responses go out
// through send, one at a time: a Send waiting for the host to read (gRPC
// flow control) must not keep this loop from reading.
func serveStream[Req, Resp any](stream grpc.BidiStreamingServer[Req, Resp], id func(*Req) uint64, hasCall func(*Req) bool,
	run func(ctx context.Context, req *Req, send func(*Resp) error)) error {
	var (
		mu      sync.Mutex // cancels
		cancels = map[uint64]context.CancelFunc{}
		sendMu  sync.Mutex
	)
	send := func(resp *Resp) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(resp)
	}
	calls := newWorkers()
	defer calls.stop()
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		if !hasCall(req) {
			if cancel := cancels[id(req)]; cancel != nil {
				cancel()
			}
			mu.Unlock()
			continue
		}
		ctx, cancel := context.WithCancel(stream.Context())
		cancels[id(req)] = cancel
		mu.Unlock()
		calls.run(func() {
			defer cancel()
			run(ctx, req, send)
			mu.Lock()
			delete(cancels, id(req))
			mu.Unlock()
		})
	}
}

// workers run a stream's calls side by side, as many at once as there are
// calls, each on a goroutine that then waits for the next call rather than
// ending: a goroutine started per call grew its stack anew through the
// decoding of its config and gRPC (runtime.newstack was a fifth of a no-op
// plugin's CPU), a worker keeps the stack it grew.
type workers struct {
	idle chan func() // a send succeeds only when a worker waits
	done chan struct{}
	wg   sync.WaitGroup
}

func newWorkers() *workers {
	return &workers{idle: make(chan func()), done: make(chan struct{})}
}

// run gives call to a waiting worker, or to a new one when none waits.
func (w *workers) run(call func()) {
	select {
	case w.idle <- call:
	default:
		w.wg.Go(func() {
			for {
				call()
				select {
				case call = <-w.idle:
				case <-w.done:
					return
				}
			}
		})
	}
}

// stop returns once every call given has returned, and the workers with it.
func (w *workers) stop() {
	close(w.done)
	w.wg.Wait()
}

// statusOf is a call's error as a stream's response carries it: the code
// and message of its gRPC status (0 and "" for none).
func statusOf(err error) (int32, string) {
	if err == nil {
		return 0, ""
	}
	st := status.Convert(err)
	return int32(st.Code()), st.Message()
}

func (s *server) Apply(req *pb.Apply_Request, stream pb.Plugin_ApplyServer) error {
	result, err := s.apply(stream.Context(), req, stream.Send)
	if err != nil {
		return err
	}
	return stream.Send(&pb.Apply_Event{Event: &pb.Apply_Event_Result{Result: result}})
}

// apply does one Apply call: its events go to send, one at a time; its
// result is returned for the caller to send last. An error is a gRPC
// status (an undecodable config), which the call fails with instead.
func (s *server) apply(ctx context.Context, req *pb.Apply_Request, send func(*pb.Apply_Event) error) (*pb.Apply_Result, error) {
	ctx, done := s.begin(ctx)
	defer done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.track(req.CallId, cancel)()
	if req.DeadlineUnixNano > 0 { // the step's timeout, as the action's deadline
		var stop context.CancelFunc
		ctx, stop = context.WithDeadline(ctx, time.Unix(0, req.DeadlineUnixNano))
		defer stop()
	}
	act, sch, cfg, diags, err := s.prepare(ctx, req.Action, req.Config)
	if err != nil {
		return nil, err
	}
	result := &pb.Apply_Result{}
	if !diags.HasErrors() && !cfg.IsWhollyKnown() {
		diags.AddError("Config has unknown values at apply time",
			"The host must resolve every value before Apply; this is a bug in the host.")
	}
	if !diags.HasErrors() {
		sink := &eventSink{out: send}
		resp := ApplyResponse{outputType: s.types[req.Action].outputs}
		s.guard(req.Action, &resp.Diagnostics, func() {
			act.Apply(ctx, ApplyRequest{StepID: req.StepId, Config: cfg, Events: sink}, &resp)
		})
		sink.close()
		diags.Append(resp.Diagnostics...)
		result.Summary = resp.Summary
		outputs, odiags := conformOutputs(sch, resp.Outputs, false)
		diags.Append(odiags...)
		if result.Outputs, err = wire.EncodeValue(outputs); err != nil {
			diags.AddError("Plugin returned unencodable outputs", err.Error())
		}
	}
	result.Diagnostics = encodeDiags(diags)
	return result, nil
}

// guard turns a panic in an action into an error diagnostic: one bad step
// must not take down the process that serves every other step of the run.
func (s *server) guard(action string, diags *Diagnostics, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("action panicked", "action", action, "panic", r, "stack", string(debug.Stack()))
			diags.AddError(fmt.Sprintf("Action %s.%s crashed", s.plugin.Name, action),
				fmt.Sprintf("panic: %v. This is a bug in the plugin; its log has the stack trace.", r))
		}
	}()
	fn()
}

// eventSink sends an Apply's events. gRPC streams allow one sender at a
// time, and none after the handler returned (or, on ApplyStream, after
// the call's result), hence the lock and flag.
type eventSink struct {
	mu     sync.Mutex
	out    func(*pb.Apply_Event) error
	closed bool
}

func (e *eventSink) send(ev *pb.Apply_Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		_ = e.out(ev) // a broken stream also cancels ctx: the action stops
	}
}

func (e *eventSink) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
}

// MaxLogLine is the longest log line sent as one event: a longer line is
// sent in pieces of at most this many bytes (cut between characters), so a
// command that prints 80 MB without a newline never exceeds the protocol's
// message size. Invalid UTF-8 is replaced (protobuf strings must be valid).
const MaxLogLine = 64 << 10

func (e *eventSink) Log(stream, line string) {
	line = strings.ToValidUTF8(line, "\uFFFD")
	for {
		piece, rest := cutLine(line, MaxLogLine)
		e.send(&pb.Apply_Event{Event: &pb.Apply_Event_Log{Log: &pb.Apply_Log{Stream: stream, Line: piece}}})
		if rest == "" {
			return
		}
		line = rest
	}
}

// cutLine splits s after at most n bytes, at the start of a character.
func cutLine(s string, n int) (string, string) {
	if len(s) <= n {
		return s, ""
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if i == 0 {
		i = n
	}
	return s[:i], s[i:]
}

func (e *eventSink) Progress(fraction float64, message string) {
	e.send(&pb.Apply_Event{Event: &pb.Apply_Event_Progress{Progress: &pb.Apply_Progress{Fraction: fraction, Message: message}}})
}

func (e *eventSink) Artifact(name, mediaType string, data []byte) {
	e.send(&pb.Apply_Event{Event: &pb.Apply_Event_Artifact{Artifact: &pb.Apply_Artifact{Name: name, MediaType: mediaType, Data: data}}})
}

func joinKeys[V any](m map[string]V) string { return strings.Join(slices.Sorted(maps.Keys(m)), ", ") }

// absPaths makes the paths a plan read absolute and clean: the host may
// compare them from another directory (a saved plan applied elsewhere).
func absPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		out = append(out, filepath.Clean(p))
	}
	return out
}
