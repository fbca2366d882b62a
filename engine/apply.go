package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/dag"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// Runner applies a pipeline: it schedules the steps of each phase as soon
// as what they depend on has succeeded, up to Parallelism at once, and runs
// the failure handlers and finally steps.
type Runner struct {
	Pipeline    *Pipeline
	Host        *pluginhost.Host
	Redactor    *Redactor
	Events      EventSink
	Parallelism int // instances applied at once; <1 means 10
	// Plan is what was planned (and shown) for this run: an instance its
	// plan said is unchanged is not applied unless its action says
	// AlwaysApply. Without a plan every instance is applied.
	Plan *Plan

	// Done resumes a run: main steps that succeeded in it, with their
	// values, are not run again (see Resumed).
	Done map[string]cty.Value
	// Resumed names the run Done comes from, for the events.
	Resumed string
	// Continues: Done comes from a failed run this one resumes, so what
	// those steps changed is this run's to restore (not so for -only,
	// whose Done comes from a run that succeeded).
	Continues bool
	// OnStepValue, when set, receives every main step that succeeded with
	// its value, so that a later run can resume after it.
	OnStepValue func(step string, value cty.Value)
	// RunID is the run's id, for run.id.
	RunID string
	// Gates says how approvals are answered and windows overridden (gate.go).
	Gates GateOptions
	// MayStart, when set, is asked before each attempt of an action: an
	// error (the environment's lock was lost) starts no further step, and
	// says why in the step's message.
	MayStart func() error
}

// run is the mutable state of one Apply.
type run struct {
	*Runner
	steps   *stepResolver
	planned map[string]*PlannedStep // the plan's steps by name
	sem     chan struct{}

	mu     sync.Mutex
	values map[string]cty.Value // step name → what step.NAME evaluates to
	status map[string]Status    // step name → outcome
	events sync.Mutex           // serializes Events
	state  *runState            // what run.* shows

	gates       map[string]*gateState // by address, once reached
	gateFailure *GateFailure          // the first gate that stopped the run
	handlersRan bool                  // an on_failure step ran
	scheduled   int                   // Result.Scheduled
	outcomes    outcomes              // what the run changed and what restored it; under mu
	gateStop    chan struct{}         // closed when the main steps stop starting: gates stop waiting
	parked      []ParkedGate          // the gates the run parked at (GateOptions.Park); under mu
	telling     sync.Mutex            // one on_waiting run at a time
	waiting     cty.Value             // gate.* of the on_waiting run going on; under mu
	waitingAt   string                // the address of that gate; under mu
	gateStopped sync.Once
}

// Apply runs the pipeline. Cancelling ctx (a first Ctrl-C) stops the main
// steps — running ones through their contexts — and goes on to the failure
// handlers and finally steps; cancelling kill (a second Ctrl-C) stops
// those too.
func (r *Runner) Apply(ctx, kill context.Context) *Result {
	n := r.Parallelism
	if n < 1 {
		n = 10
	}
	rn := &run{Runner: r, steps: newStepResolver(r.Pipeline), planned: r.Plan.StepsByName(), sem: make(chan struct{}, n), values: map[string]cty.Value{}, status: map[string]Status{},
		state: newRunState(r.Pipeline.Config, r.RunID, r.Plan.InstanceCount()),
		gates: map[string]*gateState{}, gateStop: make(chan struct{})}
	r.Pipeline.LearnSecrets(r.Redactor)
	rn.emit(Event{Type: RunStarted, Message: r.Pipeline.Config.Pipeline.Name, Environment: r.Pipeline.Scope.Environment})
	phases := r.Pipeline.Graph.Phases()

	mainFailed := rn.runPhase(ctx, phases[0], r.Pipeline.Config.Pipeline.FailFast)
	cancelled := ctx.Err() != nil
	if parked := rn.parkedAt(); len(parked) > 0 && !mainFailed && !cancelled {
		return rn.parkedResult(parked)
	}
	handlersFailed := false
	rn.state.setStatus(soFar(cancelled, mainFailed))
	if mainFailed || cancelled {
		if cancelled {
			rn.emit(Event{Type: RunCancelling, Message: "cancelled: running failure handlers (press Ctrl-C again to stop them)"})
		}
		for _, ph := range phases[1:] {
			if ph.Name == PhaseFinally || ph.Name == PhaseOnWaiting || (ph.Name == PhaseStageOnFailure && !rn.stageFailed(ph.Stage)) {
				continue
			}
			handlersFailed = rn.runPhase(kill, ph, false) || handlersFailed
			rn.handlersRan = rn.handlersRan || rn.ranAny(ph)
		}
	}
	rn.state.setStatus(soFar(cancelled, mainFailed || handlersFailed))
	handlersFailed = rn.runPhase(kill, phases[len(phases)-1], false) || handlersFailed

	res := &Result{Status: StatusSucceeded, Steps: rn.status, Instances: rn.state.instances(),
		GateFailure: rn.gateFailure, HandlersRan: rn.handlersRan, HandlersFailed: handlersFailed, Scheduled: rn.scheduled}
	switch {
	case cancelled:
		res.Status = StatusCancelled
	case mainFailed || handlersFailed:
		res.Status = StatusFailed
	default:
		res.Outputs, res.OutputDiagnostics = rn.outputs()
	}
	if res.Status != StatusSucceeded {
		rn.mu.Lock()
		res.Outcome = rn.outcomes.outcome()
		rn.mu.Unlock()
	}
	if res.OutputDiagnostics.HasErrors() {
		rn.emit(Event{Type: OutputsFailed, Status: res.Status, Message: "the pipeline's outputs could not be evaluated: " + diagnosticsText(res.OutputDiagnostics),
			Diagnostics: res.OutputDiagnostics})
	}
	rn.emit(Event{Type: RunFinished, Status: res.Status, Outcome: res.Outcome, Outputs: jsonOutputs(res.Outputs)})
	return res
}

// parkedAt are the gates the run parked at.
func (rn *run) parkedAt() []ParkedGate {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return slices.Clone(rn.parked)
}

// parkedResult ends a run parked at its gates: no handler and no finally
// runs (the run is not over; the run that resumes it runs them).
func (rn *run) parkedResult(parked []ParkedGate) *Result {
	res := &Result{Status: StatusParked, Steps: rn.status, Instances: rn.state.instances(), Parked: parked, Scheduled: rn.scheduled}
	var at []string
	for _, p := range parked {
		at = append(at, p.Gate)
	}
	rn.emit(Event{Type: RunFinished, Status: res.Status, Message: "parked at " + strings.Join(at, ", ") + ", waiting for approval"})
	return res
}

// outputs evaluates the pipeline's outputs once every step succeeded. An
// output that cannot be evaluated (plan checked them, but a value known
// only now may still not fit) is reported on its own: it never turns
// steps that succeeded into a failed run.
func (rn *run) outputs() (map[string]cty.Value, hcl.Diagnostics) {
	rn.mu.Lock()
	values := rn.values
	rn.mu.Unlock()
	var unread func(string) bool // a subset run: outputs reading a step left out have no value
	if rn.Plan != nil {
		unread = unreadSteps(rn.Plan, values)
	}
	out, diags := rn.Pipeline.Scope.OutputsExcept(values, unread)
	for _, v := range out {
		rn.Redactor.AddValue(v)
	}
	if diags.HasErrors() {
		for k, v := range out {
			if !v.IsWhollyKnown() {
				delete(out, k)
			}
		}
	}
	return out, diags
}

func jsonOutputs(out map[string]cty.Value) map[string]any {
	if len(out) == 0 {
		return nil
	}
	m := make(map[string]any, len(out))
	for k, v := range out {
		m[k] = dsl.JSONValue(v)
	}
	return m
}

// stageFailed reports whether a main step of the stage failed (and was not
// allowed to with continue_on_error) or was cancelled.
func (rn *run) stageFailed(stage string) bool {
	st := rn.Pipeline.Config.Stage(stage)
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for _, s := range st.Steps {
		if s := rn.status[s.Name]; s == StatusFailed || s == StatusCancelled {
			return true
		}
	}
	return false
}

// phaseRun is the scheduling state of one phase's graph.
type phaseRun struct {
	*run
	ph       PhaseGraph
	state    map[Addr]Status // node address → status ("running" while it runs)
	frontier *dag.Frontier[Addr]
	results  chan nodeDone
	inFlight int
}

type nodeDone struct {
	addr   Addr
	status Status
}

// done: the node's dependants may start.
func (p *phaseRun) done(addr Addr) bool {
	s := p.state[addr]
	return s == StatusSucceeded || s == StatusUnchanged || s == StatusSkipped || s == StatusFailedContinued
}

func (p *phaseRun) started(addr Addr) bool { _, ok := p.state[addr]; return ok }

// settle records a node's outcome; once it is done, its dependants may
// become ready.
func (p *phaseRun) settle(addr Addr, s Status) {
	p.state[addr] = s
	if p.done(addr) {
		p.frontier.Done(addr)
	}
}

// runPhase schedules one graph. In the main phase ctx being cancelled
// stops new starts, and so does a failure when failFast; otherwise (and in
// handler phases) steps independent of the failure go on. What depends on
// a failed step never starts. It reports whether any step failed.
func (rn *run) runPhase(ctx context.Context, ph PhaseGraph, failFast bool) (failed bool) {
	if ph.Graph.Len() == 0 {
		return false
	}
	if ph.Name != PhaseMain {
		rn.emit(Event{Type: PhaseStarted, Phase: ph.Name, Stage: ph.Stage})
	}
	p := &phaseRun{run: rn, ph: ph, state: map[Addr]Status{}, results: make(chan nodeDone), frontier: ph.Graph.Frontier()}
	if ph.Name == PhaseMain {
		p.reuse()
		p.leaveOut()
	}
	stopping := false
	for {
		stopping = stopping || (ph.Name == PhaseMain && ctx.Err() != nil)
		if !stopping {
			p.startReady(ctx)
		}
		if p.inFlight == 0 {
			break
		}
		res := <-p.results
		p.inFlight--
		p.settle(res.addr, res.status)
		if res.status == StatusFailed || res.status == StatusCancelled || res.status == statusGateBlocked {
			failed = true
			stopping = stopping || failFast
		}
		stopping = stopping || res.status == statusParked // the steps left start when it is resumed
		if stopping && ph.Name == PhaseMain {
			rn.stopWaitingGates() // a gate waiting now would hold the run for a stage that cannot start
		}
	}
	p.markNotRun()
	rn.scheduled += p.frontier.Evaluations
	return failed
}

// startReady starts every node whose dependencies are done (the
// dag.Frontier knows which, from what settled). Stage nodes complete at
// once, which may make more nodes ready, hence the loop.
func (p *phaseRun) startReady(ctx context.Context) {
	for {
		ready := p.frontier.Take()
		if len(ready) == 0 {
			return
		}
		for _, addr := range ready {
			if p.started(addr) { // reused or left out
				continue
			}
			name, isStep := addr.Step()
			if !isStep {
				p.settle(addr, StatusSucceeded)
				continue
			}
			p.state[addr] = statusRunning
			p.inFlight++
			go func() { p.results <- nodeDone{addr, p.runStep(ctx, p.Pipeline.Config.Step(name), p.ph)} }()
		}
	}
}

// markNotRun records the steps an earlier failure kept from starting.
func (p *phaseRun) markNotRun() {
	for _, name := range StepNames(p.ph.Graph) {
		if p.started(StepAddr(name)) {
			continue
		}
		s := p.Pipeline.Config.Step(name)
		p.finish(s, StatusNotRun, cty.NullVal(cty.DynamicPseudoType))
		p.emit(Event{Type: StepFinished, Phase: p.ph.Name, Stage: s.Stage, Step: name, Action: s.Action.String(),
			Status: StatusNotRun, Message: string(ReasonNotStarted)})
	}
}

func (rn *run) finish(s *dsl.Step, st Status, value cty.Value) {
	rn.state.finished(s.Name, st)
	rn.mu.Lock()
	rn.status[s.Name] = st
	rn.values[s.Name] = value
	rn.mu.Unlock()
	if (st == StatusSucceeded || st == StatusUnchanged) && s.Kind == dsl.Main && rn.OnStepValue != nil {
		rn.OnStepValue(s.Name, value)
	}
}

// reuse marks the steps a resumed run already completed as done, without
// running them again.
func (p *phaseRun) reuse() {
	for _, name := range StepNames(p.ph.Graph) {
		value, ok := p.Done[name]
		if !ok {
			continue
		}
		s := p.Pipeline.Config.Step(name)
		p.settle(StepAddr(name), StatusSucceeded)
		p.finish(s, StatusSucceeded, value)
		if p.Continues {
			p.continued(s)
		}
		p.emit(Event{Type: StepFinished, Phase: p.ph.Name, Stage: s.Stage, Step: name, Action: s.Action.String(),
			Status: StatusSucceeded, Message: "succeeded in run " + p.Resumed + "; not run again"})
	}
}

// continued counts what a step not run again may have changed in the run
// this one resumes: anything but a check. Its plan now says "no-change"
// when its change went in then.
func (rn *run) continued(s *dsl.Step) {
	ps := rn.planned[s.Name]
	if ps == nil {
		return
	}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for _, in := range ps.Instances {
		if !in.Skipped && in.Kind != sdk.PlanRun.String() {
			rn.outcomes.changed = append(rn.outcomes.changed, targetOf(s.Name, in.Config))
		}
	}
}

// knownValues is what expressions see at apply time: finished steps'
// outputs, and null for steps that did not run (so try() and
// conditionals can handle them).
func (rn *run) knownValues(s *dsl.Step) map[string]cty.Value {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	out := map[string]cty.Value{}
	refs := s.References()
	if st := rn.Pipeline.Config.Stage(s.Stage); st != nil {
		refs = append(refs, stageConditionRefs(st)...)
	}
	for _, r := range refs {
		if v, ok := rn.values[r.Name]; ok {
			out[r.Name] = v
		} else {
			out[r.Name] = cty.NullVal(cty.DynamicPseudoType)
		}
	}
	return out
}

// runStep evaluates a step's conditions and meta-arguments with the values
// known now, then applies each of its instances.
func (rn *run) runStep(ctx context.Context, s *dsl.Step, ph PhaseGraph) Status {
	base := Event{Phase: ph.Name, Stage: s.Stage, Step: s.Name, Action: s.Action.String(), Instance: rn.tellingAbout(s)}
	fail := func(diags hcl.Diagnostics) Status {
		ev := base
		ev.Type, ev.Status, ev.Message, ev.Diagnostics = StepFinished, StatusFailed, diagnosticsText(diags), diags
		if ctx.Err() != nil {
			ev.Status, ev.Message, ev.Diagnostics = StatusCancelled, "cancelled before it started", nil
		}
		rn.emit(ev)
		rn.finish(s, ev.Status, cty.NullVal(cty.DynamicPseudoType))
		return ev.Status
	}
	_, schema, err := rn.Host.Plugin(ctx, s.PluginConfigKey())
	if err != nil {
		return fail(launchDiagnostics(s, err))
	}
	values := rn.knownValues(s)
	rs := rn.steps.resolve(s, schema, values, rn.state.value(rn.Pipeline.Config, s), rn.waitingGate(s))
	if rs.Reason == ReasonStageWhenFalse { // whatever the step's own arguments say
		return rn.skip(s, base, rs.Reason)
	}
	if s.Kind == dsl.Main {
		if f, cancelled := rn.awaitGate(ctx, StageAddr(s.Stage).String()); f != nil || cancelled {
			return rn.gateBlocked(s, base, f, cancelled)
		}
	}
	if rs.Diagnostics.HasErrors() {
		return fail(rs.Diagnostics)
	}
	switch rs.Decision {
	case DecisionSkip:
		return rn.skip(s, base, rs.Reason)
	case DecisionUnknown: // every value it reads is known by now, or null
		return fail(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Undecided when condition",
			Detail: "The condition is still unknown at apply: a value it reads was not produced.", Subject: s.DeclRange.Ptr()}})
	}
	if f, cancelled := rn.awaitGate(ctx, StepAddr(s.Name).String()); f != nil || cancelled {
		return rn.gateBlocked(s, base, f, cancelled)
	}
	meta := rs.Meta
	planned := rn.planned[s.Name]
	statuses := make([]Status, len(rs.Instances))
	outputs := make(map[string]cty.Value, len(rs.Instances))
	var outMu sync.Mutex
	applyInstance := func(i int) {
		ri := rs.Instances[i]
		inst := instance{run: rn, ResolvedInstance: ri, resolved: rs, step: s, meta: meta, key: ri.Key, base: base}
		if !rs.Action.AlwaysApply {
			inst.planned = planned.Instance(ri.Key)
		}
		inst.base.Instance = instanceKey(base.Instance, ri.Key)
		st, out := inst.apply(ctx)
		statuses[i] = st
		outMu.Lock()
		outputs[ri.Key] = out
		outMu.Unlock()
	}
	if len(rs.Instances) == 1 { // most steps: no goroutine to start and grow a stack for
		applyInstance(0)
	} else {
		var wg sync.WaitGroup
		for i := range rs.Instances {
			wg.Go(func() { applyInstance(i) })
		}
		wg.Wait()
	}
	status := worst(statuses)
	if status == StatusFailed && meta.ContinueOnError {
		status = StatusFailedContinued
	}
	value := rs.Value(outputs)
	if !value.IsWhollyKnown() {
		value = cty.NullVal(cty.DynamicPseudoType)
	}
	rn.finish(s, status, value)
	return status
}

func (rn *run) skip(s *dsl.Step, base Event, why Reason) Status {
	ev := base
	ev.Type, ev.Status, ev.Message = StepFinished, StatusSkipped, string(why)
	rn.emit(ev)
	rn.finish(s, StatusSkipped, cty.NullVal(cty.DynamicPseudoType))
	return StatusSkipped
}

// severity orders instance outcomes: a step is as bad as its worst instance.
var severity = map[Status]int{StatusSucceeded: 0, StatusUnchanged: 0, StatusSkipped: 0, StatusFailedContinued: 1, StatusCancelled: 2, StatusFailed: 3}

// worst is the step's outcome from its instances': unchanged when none
// was applied, else as bad as the worst.
func worst(statuses []Status) Status {
	out := StatusSucceeded
	unchanged := len(statuses) > 0
	for _, s := range statuses {
		unchanged = unchanged && s == StatusUnchanged
		if severity[s] > severity[out] {
			out = s
		}
	}
	if unchanged {
		return StatusUnchanged
	}
	return out
}

// instance is one instance of a step being applied.
type instance struct {
	*run
	*ResolvedInstance
	resolved *ResolvedStep
	step     *dsl.Step
	meta     *dsl.StepMeta
	key      string
	base     Event
	diags    hcl.Diagnostics // of the last failure, on the step's source
	// planned is the instance's plan when apply may skip it (no change
	// planned and the action does not AlwaysApply), else nil.
	planned *PlannedInstance
}

// apply decodes the instance's config with known values and applies it,
// with retries and a timeout per attempt.
func (in *instance) apply(ctx context.Context) (st Status, _ cty.Value) {
	null := cty.NullVal(cty.DynamicPseudoType)
	if in.Problem.HasErrors() {
		in.diags = in.Problem
		return in.finished(StatusFailed, diagnosticsText(in.Problem), 0, 1, null)
	}
	if in.Skipped {
		return in.finished(StatusSkipped, string(ReasonInstanceWhenFalse), 0, 0, null)
	}
	config, diags := in.resolved.Decode(in.ResolvedInstance)
	in.Redactor.AddValue(config)
	if diags.HasErrors() {
		in.diags = diags
		return in.finished(StatusFailed, diagnosticsText(diags), 0, 1, null)
	}
	if !wholeKnown(config) {
		in.diags = hcl.Diagnostics{errorDiagnostic("Unknown values in the configuration",
			errors.New("A step it refers to did not produce them."), in.step.DeclRange)}
		return in.finished(StatusFailed, "configuration still has unknown values: a step it refers to did not produce them", 0, 1, null)
	}
	if unchangedFor(in.planned, config) {
		return in.finished(StatusUnchanged, unchangedMessage(in.planned), 0, 0, in.planned.Held.Outputs)
	}
	// One slot of -parallelism from the first attempt until the outcome is
	// reported, so events never show more instances at work than allowed.
	select {
	case in.sem <- struct{}{}:
		defer func() { <-in.sem }()
	case <-ctx.Done():
		return in.finished(StatusCancelled, "cancelled before it started", 0, 0, null)
	}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return in.finished(StatusCancelled, "cancelled before it started", 0, attempt, null)
		}
		if in.MayStart != nil {
			if err := in.MayStart(); err != nil {
				return in.finished(StatusCancelled, "not started: "+err.Error(), 0, attempt, null)
			}
		}
		if attempt == 1 { // from now on the action may have changed its target
			defer func() { in.noteApplied(config, st) }()
		}
		start := time.Now()
		status, out, msg := in.attempt(ctx, config, attempt)
		if status != StatusFailed || attempt >= in.meta.RetryAttempts {
			return in.finished(status, msg, time.Since(start), attempt, out)
		}
		wait := in.meta.RetryBackoff << (attempt - 1) // doubles each time
		ev := in.base
		ev.Type, ev.Attempt, ev.Message = StepRetrying, attempt, fmt.Sprintf("attempt %d of %d failed: %s; retrying in %s", attempt, in.meta.RetryAttempts, msg, wait)
		in.emit(ev)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return in.finished(StatusCancelled, "cancelled while waiting to retry: "+msg, 0, attempt, null)
		}
	}
}

// noteApplied tells the run's outcome about an instance whose action was
// called, with what its plan said it would do.
func (in *instance) noteApplied(config cty.Value, st Status) {
	kind := ""
	if p := in.run.planned[in.step.Name].Instance(in.key); p != nil {
		kind = p.Kind
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.outcomes.applied(in.step, in.base.Phase, kind, config, st)
}

// attempt is one call of the action, bounded by the step's timeout. Its
// message is what the action says it did when it succeeded (never the
// plan's forecast: records must say what happened), else why it failed.
func (in *instance) attempt(ctx context.Context, config cty.Value, attempt int) (Status, cty.Value, string) {
	ev := in.base
	ev.Type, ev.Attempt = StepStarted, attempt
	in.emit(ev)
	actx, cancel := ctx, context.CancelFunc(func() {})
	if in.meta.Timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, in.meta.Timeout)
	}
	defer cancel()
	plugin, _, err := in.Host.Plugin(ctx, in.step.PluginConfigKey()) // a fresh process if the last one died
	switch {
	case err != nil && ctx.Err() != nil:
		return StatusCancelled, cty.NullVal(cty.DynamicPseudoType), "cancelled while its plugin started"
	case err != nil:
		in.diags = launchDiagnostics(in.step, err)
		return StatusFailed, cty.NullVal(cty.DynamicPseudoType), diagnosticsText(in.diags)
	}
	cut := &cutLines{redactor: in.Redactor}
	res, err := plugin.Apply(actx, client.ApplyRequest{Action: in.step.Action.Name, StepID: instanceID(in.step.Name, in.key), Config: config},
		func(e client.Event) { in.pluginEvent(e, attempt, cut) })
	cut.flush(func(stream, line string) { in.logEvent(stream, line, attempt) })
	null := cty.NullVal(cty.DynamicPseudoType)
	switch {
	case err == nil && !res.Diagnostics.HasErrors():
		in.Redactor.AddValue(res.Outputs)
		return StatusSucceeded, res.Outputs, firstLine(res.Summary)
	// From here it failed; an action may report its own cancellation, so
	// the contexts tell the cause.
	case ctx.Err() != nil:
		return StatusCancelled, null, "cancelled"
	case reachedDeadline(actx):
		msg := fmt.Sprintf("timed out after %s", in.meta.Timeout)
		in.diags = hcl.Diagnostics{errorDiagnostic("Step timed out", fmt.Errorf("The action did not finish within the step's timeout: %s.", msg), in.timeoutRange())}
		return StatusFailed, null, msg
	case err != nil:
		if errors.Is(err, client.ErrPluginExited) {
			in.Host.Retire(in.step.PluginConfigKey(), plugin)
			msg := fmt.Sprintf("plugin %s exited or stopped answering during the step: %v", in.step.Action.Plugin, err)
			in.diags = hcl.Diagnostics{errorDiagnostic("Plugin stopped during the step", errors.New(msg), in.step.Action.Range)}
			return StatusFailed, null, msg
		}
		in.diags = AppendError(nil, "Action failed", err, in.step.DeclRange)
		return StatusFailed, null, err.Error()
	}
	in.diags = pluginDiagnostics(in.step, res.Diagnostics)
	return StatusFailed, null, diagnosticsText(in.diags)
}

func (in *instance) pluginEvent(e client.Event, attempt int, cut *cutLines) {
	ev := in.base
	ev.Attempt = attempt
	switch e.Kind {
	case client.EventLog:
		if line := cut.line(e.Stream, e.Line); line != "" || e.Line == "" {
			in.logEvent(e.Stream, line, attempt)
		}
		return
	case client.EventProgress:
		ev.Type, ev.Fraction, ev.Message = StepProgress, e.Fraction, e.Message
	case client.EventArtifact:
		if e.Artifact == nil {
			return
		}
		ev.Type, ev.Artifact, ev.Message = StepArtifact, in.Redactor.String(e.Artifact.Name), e.Artifact.MediaType
		ev.Size = len(e.Artifact.Data)
		ev.Data, ev.Withheld = ArtifactData(in.Redactor, e.Artifact.MediaType, e.Artifact.Data)
	default:
		return
	}
	in.emit(ev)
}

func (in *instance) logEvent(stream, line string, attempt int) {
	ev := in.base
	ev.Type, ev.Stream, ev.Message, ev.Attempt = StepLog, stream, line, attempt
	in.emit(ev)
}

func (in *instance) finished(st Status, msg string, d time.Duration, attempt int, out cty.Value) (Status, cty.Value) {
	if st == StatusFailed && in.meta.ContinueOnError {
		st = StatusFailedContinued // as the step's record says: the run goes on
	}
	ev := in.base
	ev.Type, ev.Status, ev.Message, ev.Duration, ev.Attempt = StepFinished, st, msg, d, attempt
	if st == StatusFailed || st == StatusFailedContinued {
		ev.Diagnostics = in.diags
	}
	if (st == StatusSucceeded || st == StatusUnchanged) && out != cty.NilVal {
		if m, ok := dsl.JSONValue(out).(map[string]any); ok {
			ev.Outputs = m
		}
	}
	in.emit(ev)
	return st, out
}

// emit stamps, redacts and delivers an event.
func (rn *run) emit(e Event) {
	e.Time = time.Now()
	e.Message = rn.Redactor.String(e.Message)
	e.Diagnostics = rn.Redactor.Diagnostics(e.Diagnostics)
	e.RecordedDiagnostics = RecordedDiagnostics(e.Diagnostics, rn.Pipeline.Config.Files, rn.Redactor)
	if e.Outputs != nil {
		e.Outputs = rn.Redactor.Any(e.Outputs).(map[string]any)
	}
	rn.events.Lock()
	defer rn.events.Unlock()
	rn.state.event(e)
	if rn.Events != nil {
		rn.Events.Event(e)
	}
}

// diagnosticsText is the errors as one line each, with where they are:
// "pipeline.hcl:12:5: Invalid pattern: ...". Run records keep this text.
func diagnosticsText(ds hcl.Diagnostics) string {
	var lines []string
	for _, d := range ds {
		if d.Severity != hcl.DiagError {
			continue
		}
		line := d.Summary
		if d.Detail != "" {
			line += ": " + d.Detail
		}
		if d.Subject != nil {
			line = fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, line)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// timeoutRange is where a timeout is set: the step's timeout argument,
// or the step when the timeout comes from elsewhere.
func (in *instance) timeoutRange() hcl.Range {
	if in.step.Timeout != nil {
		return in.step.Timeout.Range()
	}
	return in.step.DeclRange
}

// reachedDeadline tells whether a failure came from the step's timeout. The
// plugin sees the deadline through gRPC and may fail a few milliseconds
// before the host's own timer fires, hence the tolerance.
func reachedDeadline(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ok && (errors.Is(ctx.Err(), context.DeadlineExceeded) || time.Until(deadline) < 50*time.Millisecond)
}

// unchangedMessage is what an unchanged instance reports: its plan's summary.
func unchangedMessage(in *PlannedInstance) string {
	if in.Summary == "" {
		return "no changes"
	}
	return in.Summary
}

// soFar is run.status once the main steps (or the handlers) are over.
func soFar(cancelled, failed bool) Status {
	switch {
	case cancelled:
		return StatusCancelled
	case failed:
		return StatusFailed
	}
	return StatusSucceeded
}

// firstLine keeps a one-line text to its first line.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
