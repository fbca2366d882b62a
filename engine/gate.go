package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/gate"
)

// Clock is where gates read the time; tests give a fake one.
type Clock = gate.Clock

// GateAnswer is someone's answer to a gate.
type GateAnswer = gate.Answer

// GateAnswers is where a waiting run reads the answers to a gate, oldest
// first: the run record, where `pipectl approve` and `reject` write.
type GateAnswers interface {
	Answers(gate string) ([]GateAnswer, error)
}

// GateOptions is how a run's gates are answered.
type GateOptions struct {
	Answers GateAnswers // nil: nobody can answer (a gate waits until its timeout)
	// User is who runs this apply: it names window overrides.
	User string
	// StartedBy is who started the run (of a resumed run, who started
	// the first run it continues): allow_self_approval = false refuses
	// their approval.
	StartedBy string
	// StartedByActor is who the CI job says triggered the run
	// (GITHUB_ACTOR...), unverified: refused as StartedBy is.
	StartedByActor string
	// OverrideWindow, when not empty, lets gated stages start outside their
	// windows and freezes; it is the reason, recorded.
	OverrideWindow string
	Clock          Clock         // nil: the real one
	PollEvery      time.Duration // how often answers are read; <=0: every second
	// Park stops the run at an approval gate that starts waiting
	// (apply -park): the steps behind it do not start, the handlers and
	// finally do not run, and the run ends parked (Result.Parked), to be
	// resumed once answered.
	Park bool
	// Deadlines are the deadlines of gates a parked run waited at, for the
	// run that resumes it: the gate's timeout counts from when it first
	// waited (a zero deadline: it has none).
	Deadlines map[string]time.Time
}

// ParkedGate is a gate a parked run waits at.
type ParkedGate = v1.ParkedGate

// gateState is one gate of a run: every step of a gated stage waits on
// the same one.
type gateState struct {
	once      sync.Once
	failure   *GateFailure
	cancelled bool
}

// abandoned is the GateFailure reason of a gate that stopped waiting
// because the run stopped starting steps (an earlier failure): it is not
// why the run failed.
const abandoned = v1.GateStatusAbandoned

// parked is the GateFailure reason of a gate the run parked at (GateOptions.Park):
// not a failure, the run stops there to be resumed.
const parked = v1.GateStatusWaiting

// stopWaitingGates ends every wait at a gate: the run starts nothing new.
func (rn *run) stopWaitingGates() { rn.gateStopped.Do(func() { close(rn.gateStop) }) }

func (o *GateOptions) clock() Clock {
	if o.Clock == nil {
		return gate.RealClock{}
	}
	return o.Clock
}

// EvalGates evaluates every stage's and step's gate with the run's
// values. Gates read no step, so they are known before anything runs.
func (p *Pipeline) EvalGates() hcl.Diagnostics {
	p.Gates = map[string]*gate.Gate{}
	var diags hcl.Diagnostics
	ctx := p.Scope.EvalContext(nil, nil)
	add := func(addr string, cfg *dsl.GateConfig) {
		if cfg == nil {
			return
		}
		g, d := cfg.Eval(addr, ctx)
		diags = append(diags, d...)
		if !g.Empty() {
			p.Gates[addr] = g
		}
	}
	for _, st := range p.Config.Stages {
		add(StageAddr(st.Name).String(), st.Gate)
		for _, s := range st.Steps {
			add(StepAddr(s.Name).String(), s.Gate)
		}
	}
	return diags
}

// awaitGate holds a step back until its gate passes; nil when the step
// may start (no gate, or it passed).
func (rn *run) awaitGate(ctx context.Context, addr string) (failure *GateFailure, cancelled bool) {
	g := rn.Pipeline.Gates[addr]
	if g == nil {
		return nil, false
	}
	rn.mu.Lock()
	st := rn.gates[addr]
	if st == nil {
		st = &gateState{}
		rn.gates[addr] = st
	}
	rn.mu.Unlock()
	st.once.Do(func() {
		st.failure, st.cancelled = rn.passGate(ctx, g)
		if st.cancelled && ctx.Err() == nil { // stopped by the run (a failure, a park), not by the user
			st.failure, st.cancelled = rn.abandon(g.Address), false
		}
		if st.failure != nil && st.failure.Reason != abandoned && st.failure.Reason != parked {
			rn.mu.Lock()
			if rn.gateFailure == nil {
				rn.gateFailure = st.failure
			}
			rn.mu.Unlock()
		}
	})
	return st.failure, st.cancelled
}

// abandon is the failure of a gate that stopped waiting because the run
// starts nothing more: an earlier step failed (the run's end closes its
// record), or the run parked at another gate: then it is closed now, so
// that the parked run's record waits only at the gates it parked at.
func (rn *run) abandon(addr string) *GateFailure {
	at := rn.parkedAt()
	if len(at) == 0 {
		return &GateFailure{Gate: addr, Reason: abandoned, Message: "an earlier step failed while it waited at its gate"}
	}
	rn.emit(Event{Type: GateAbandoned, Gate: addr,
		Message: fmt.Sprintf("%s stopped waiting: the run parked at %s; it waits again when the run is resumed", addr, at[0].Gate)})
	return &GateFailure{Gate: addr, Reason: abandoned,
		Message: fmt.Sprintf("the run parked at %s while it waited at its gate; it starts when the run is resumed", at[0].Gate)}
}

// passGate waits for the window, then for the approvals, then checks the
// window again: a stage starts inside its window even when approval took
// long. Last it checks that the steps behind the gate would still do what
// was approved (checkBehindGate).
func (rn *run) passGate(ctx context.Context, g *gate.Gate) (*GateFailure, bool) {
	if f, cancelled := rn.awaitWindow(ctx, g); f != nil || cancelled {
		return f, cancelled
	}
	if a := g.Asks(); a != nil {
		if f, cancelled := rn.awaitApproval(ctx, g.Address, a); f != nil || cancelled {
			return f, cancelled
		}
		if f, cancelled := rn.awaitWindow(ctx, g); f != nil || cancelled {
			return f, cancelled
		}
	}
	if f := rn.checkBehindGate(ctx, g.Address); f != nil || ctx.Err() != nil {
		return f, f == nil
	}
	rn.emit(Event{Type: GatePassed, Gate: g.Address, Message: g.Address + " may start"})
	return nil, false
}

// awaitWindow returns once the gate's windows are open (or overridden).
func (rn *run) awaitWindow(ctx context.Context, g *gate.Gate) (*GateFailure, bool) {
	if !g.HasWindows() {
		return nil, false
	}
	clock := rn.Gates.clock()
	now := clock.Now()
	open, why := g.WindowOpen(now)
	switch {
	case open:
		return nil, false
	case rn.Gates.OverrideWindow != "":
		rn.emit(Event{Type: GateWindowOverridden, Gate: g.Address, GateKind: gate.KindWindow, User: rn.Gates.User,
			Reason: rn.Redactor.String(rn.Gates.OverrideWindow), Message: fmt.Sprintf("%s is %s; let through by -override-window", g.Address, why)})
		return nil, false
	case g.OutsideWindow == gate.Fail:
		return rn.windowClosed(g, fmt.Sprintf("%s may not start now: it is %s (outside_window = \"fail\")", g.Address, why)), false
	}
	for {
		next, ok := g.NextOpen(now)
		if !ok {
			return rn.windowClosed(g, fmt.Sprintf("%s may not start: it is %s, and no window opens within a year", g.Address, why)), false
		}
		rn.emit(Event{Type: GateWaiting, Gate: g.Address, GateKind: gate.KindWindow, Until: next,
			Message: fmt.Sprintf("%s waits: it is %s; the next window opens at %s", g.Address, why, next.Format(time.RFC3339))})
		// Wake at least every minute: a machine that slept must not oversleep the window.
		for now.Before(next) {
			select {
			case <-clock.After(min(next.Sub(now), time.Minute)):
			case <-ctx.Done():
				return nil, true
			case <-rn.gateStop:
				return nil, true
			}
			now = clock.Now()
		}
		if open, why = g.WindowOpen(now); open {
			return nil, false
		}
	}
}

func (rn *run) windowClosed(g *gate.Gate, msg string) *GateFailure {
	rn.emit(Event{Type: GateWindowClosed, Gate: g.Address, GateKind: gate.KindWindow, Message: msg})
	return &GateFailure{Gate: g.Address, Reason: v1.GateStatusWindowClosed, Message: msg}
}

// awaitApproval polls the answers until enough people approved, someone
// rejected, or the timeout.
func (rn *run) awaitApproval(ctx context.Context, addr string, a *gate.Approval) (*GateFailure, bool) {
	clock := rn.Gates.clock()
	poll := rn.Gates.PollEvery
	if poll <= 0 {
		poll = time.Second
	}
	var deadline time.Time
	if a.Timeout > 0 {
		deadline = clock.Now().Add(a.Timeout)
	}
	inherited, fromParked := rn.Gates.Deadlines[addr]
	if fromParked {
		deadline = inherited
	}
	rn.emit(Event{Type: GateWaiting, Gate: addr, GateKind: gate.KindApproval, Until: deadline, Message: rn.Redactor.String(a.Message)})
	tally := &gate.Tally{Rule: a.Rule, StartedBy: rn.Gates.StartedBy, Actor: rn.Gates.StartedByActor}
	seen, told := 0, false
	var readErr string
	for {
		var answers []GateAnswer
		if rn.Gates.Answers != nil {
			var err error
			answers, err = rn.Gates.Answers.Answers(addr)
			if err != nil && err.Error() != readErr { // say it once; keep trying
				readErr = err.Error()
				rn.emit(Event{Type: GateWaiting, Gate: addr, GateKind: gate.KindApproval, Until: deadline,
					Message: "cannot read the answers to " + addr + " (retrying): " + readErr})
			}
		}
		for ; seen < len(answers); seen++ {
			if f := rn.answer(addr, tally, answers[seen]); f != nil {
				return f, false
			}
			if tally.Passed() {
				rn.tooLate(addr, answers[seen+1:])
				return nil, false
			}
		}
		wait := poll
		if !deadline.IsZero() {
			left := deadline.Sub(clock.Now())
			if left <= 0 {
				msg := fmt.Sprintf("%s was not approved within %s (%d of %d approvals)", addr, a.Timeout, tally.Approvals(), a.MinApprovals)
				if fromParked {
					msg += fmt.Sprintf(": its deadline, %s, passed while run %s was parked there", deadline.UTC().Format(time.RFC3339), rn.Resumed)
				}
				rn.emit(Event{Type: GateTimedOut, Gate: addr, GateKind: gate.KindApproval, Message: msg})
				return &GateFailure{Gate: addr, Reason: v1.GateStatusTimedOut, Message: msg}, false
			}
			wait = min(wait, left)
		}
		if !told { // it waits: its approvers are told (on_waiting)
			told = true
			rn.tellWaiting(ctx, addr, a, deadline)
			continue // answers may have come, or the deadline passed, while they were told
		}
		if rn.Gates.Park {
			return rn.park(addr, deadline), false
		}
		select {
		case <-clock.After(wait):
		case <-ctx.Done():
			return nil, true
		case <-rn.gateStop:
			return nil, true
		}
	}
}

// tellWaiting runs the on_waiting steps for a gate that starts waiting,
// with gate.* describing it. Their failure does not fail the run (they
// tell, they deploy nothing); it is recorded as theirs.
func (rn *run) tellWaiting(ctx context.Context, addr string, a *gate.Approval, deadline time.Time) {
	g := rn.Pipeline.Graph.OnWaiting
	if g == nil || g.Len() == 0 {
		return
	}
	rn.telling.Lock()
	defer rn.telling.Unlock()
	if !rn.Gates.Park { // the run stopping (fail-fast) ends the wait, and the telling of it;
		// a parking run's notice must leave: no process waits after it
		var stop context.CancelFunc
		ctx, stop = rn.untilGateStop(ctx)
		defer stop()
	}
	until := ""
	if !deadline.IsZero() {
		until = deadline.UTC().Format(time.RFC3339)
	}
	cmds := v1.CommandsFor(rn.RunID)
	v := dsl.GateValue(dsl.WaitingGate{Address: addr, Message: rn.Redactor.String(a.Message), Until: until, Approvers: a.Approvers,
		MinApprovals: a.MinApprovals, Parked: rn.Gates.Park, PlanSummary: planSummary(rn.Pipeline, rn.Plan),
		Approve: cmds.Approve, Reject: cmds.Reject, Resume: cmds.Resume})
	rn.mu.Lock()
	rn.waiting, rn.waitingAt = v, addr
	rn.mu.Unlock()
	rn.runPhase(ctx, PhaseGraph{Name: PhaseOnWaiting, Graph: g}, false)
}

// tellingAbout is the instance key of an on_waiting step's run: the gate
// it tells about, so that each gate's notification is recorded as its
// own (step["stage.deploy"]); "" for other steps.
func (rn *run) tellingAbout(s *dsl.Step) string {
	if s.Kind != dsl.OnWaiting {
		return ""
	}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.waitingAt
}

// instanceKey is an instance's key within a run of its step keyed by
// run (an on_waiting step's gate), or its own key alone.
func instanceKey(run, key string) string {
	switch {
	case run == "":
		return key
	case key == "":
		return run
	}
	return run + "/" + key
}

// untilGateStop is ctx, cancelled too when the gates stop waiting
// (stopWaitingGates).
func (rn *run) untilGateStop(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-rn.gateStop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// waitingGate is gate.* for step s: the gate being told about, in an
// on_waiting step; cty.NilVal elsewhere.
func (rn *run) waitingGate(s *dsl.Step) cty.Value {
	if s.Kind != dsl.OnWaiting {
		return cty.NilVal
	}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.waiting
}

// planSummary is the one line an approver reads first: what the run
// applies, and the steps planned to change something.
func planSummary(p *Pipeline, plan *Plan) string {
	head := "pipeline " + p.Config.Pipeline.Name
	if env := p.Scope.Environment; env != "" {
		head += ", environment " + env
	}
	if plan == nil {
		return head
	}
	run, change := 0, []string{}
	for _, s := range plan.Steps {
		if s.Phase != PhaseMain || s.LeftOut != "" || s.Run == DecisionSkip {
			continue
		}
		run++
		for _, in := range s.Instances {
			if changes(in.Kind) && !in.Skipped {
				change = append(change, s.Name)
				break
			}
		}
	}
	out := fmt.Sprintf("%s: %d steps to run, %d to change", head, run, len(change))
	if len(change) > 0 {
		out += " (" + strings.Join(change, ", ") + ")"
	}
	return out
}

// park stops the run at a gate that waits for approval: it stays
// waiting in the record, for the run that resumes this one.
func (rn *run) park(addr string, until time.Time) *GateFailure {
	rn.mu.Lock()
	rn.parked = append(rn.parked, ParkedGate{Gate: addr, Until: until})
	rn.mu.Unlock()
	return &GateFailure{Gate: addr, Reason: parked, Message: "the run parked at " + addr + ", waiting for approval"}
}

// answer takes one answer into the tally and says what it did: a
// rejection fails the gate.
func (rn *run) answer(addr string, tally *gate.Tally, ans GateAnswer) *GateFailure {
	reason := rn.Redactor.String(ans.Reason)
	ev := Event{Gate: addr, GateKind: gate.KindApproval, User: ans.User, Reason: reason}
	switch decision, refusal := tally.Take(ans); decision {
	case v1.AnswerRefused:
		ev.Type, ev.Message = GateRefused, refusal.Message
	case v1.AnswerRejected:
		msg := fmt.Sprintf("%s was rejected by %s", addr, ans.User)
		if reason != "" {
			msg += ": " + reason
		}
		ev.Type, ev.Message = GateRejected, msg
		rn.emit(ev)
		return &GateFailure{Gate: addr, Reason: v1.GateStatusRejected, Message: msg}
	default:
		ev.Type, ev.Message = GateApproved, fmt.Sprintf("%s approved by %s (%d of %d)", addr, ans.User, tally.Approvals(), tally.Rule.MinApprovals)
	}
	rn.emit(ev)
	return nil
}

// tooLate records the answers read with those that passed the gate but
// after them: they do not count, and the record says so rather than
// losing them.
func (rn *run) tooLate(addr string, answers []GateAnswer) {
	for _, ans := range answers {
		rn.emit(Event{Type: GateRefused, Gate: addr, GateKind: gate.KindApproval, User: ans.User, Reason: rn.Redactor.String(ans.Reason),
			Message: gate.AfterPass(addr).Message})
	}
}

// gateBlocked finishes a step its gate kept from starting.
func (rn *run) gateBlocked(s *dsl.Step, base Event, f *GateFailure, cancelled bool) Status {
	ev := base
	ev.Type, ev.Status = StepFinished, StatusNotRun
	if f != nil && f.Reason == parked {
		ev.Message = "not started: " + f.Message
		rn.emit(ev)
		rn.finish(s, ev.Status, cty.NullVal(cty.DynamicPseudoType))
		return statusParked
	}
	if f != nil && f.Reason == abandoned {
		ev.Message = "not started: " + f.Message
		rn.emit(ev)
		rn.finish(s, ev.Status, cty.NullVal(cty.DynamicPseudoType))
		return StatusNotRun
	}
	if cancelled {
		ev.Status, ev.Message = StatusCancelled, "cancelled while waiting at its gate"
	} else {
		ev.Message = "not started: " + f.Message
	}
	rn.emit(ev)
	rn.finish(s, ev.Status, cty.NullVal(cty.DynamicPseudoType))
	if cancelled {
		return StatusCancelled
	}
	return statusGateBlocked
}

// plannedGates lists the pipeline's gates in declaration order, as of now.
func plannedGates(p *Pipeline, now time.Time, redact *Redactor) []*PlannedGate {
	var out []*PlannedGate
	var addrs []string
	for _, st := range p.Config.Stages {
		addrs = append(addrs, StageAddr(st.Name).String())
		for _, s := range st.Steps {
			addrs = append(addrs, StepAddr(s.Name).String())
		}
	}
	for _, addr := range addrs {
		g := p.Gates[addr]
		if g == nil {
			continue
		}
		pg := &PlannedGate{Gate: addr, ApprovalUnknown: g.ApprovalUnknown}
		if a := g.Approval; a != nil {
			pg.Approval = &PlannedApproval{Message: redact.String(a.Message), Approvers: a.Approvers, MinApprovals: a.MinApprovals, AllowSelfApproval: a.AllowSelfApproval}
			if a.Timeout > 0 {
				pg.Approval.Timeout = a.Timeout.String()
			}
		}
		for _, w := range g.Windows {
			pg.Windows = append(pg.Windows, w.String())
		}
		for _, f := range g.Freezes {
			pg.Freezes = append(pg.Freezes, f.String())
		}
		if g.HasWindows() {
			pg.OutsideWindow = string(g.OutsideWindow)
			if at, ok := g.NextOpen(now); ok {
				at = at.UTC()
				pg.OpenAt = &at
			}
		}
		out = append(out, pg)
	}
	return out
}

// ranAny reports whether a step of a handler phase ran (was not skipped or
// kept from starting).
func (rn *run) ranAny(ph PhaseGraph) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for _, name := range StepNames(ph.Graph) {
		switch rn.status[name] {
		case StatusSucceeded, StatusFailed, StatusFailedContinued, StatusCancelled:
			return true
		}
	}
	return false
}
