package v1

import (
	"strings"
	"time"
)

// Summary is a run's state as its events tell it: the one fold of a
// run's events, which the recorder, the live view and run.* all apply, so
// that a run's record, what apply shows and what handlers read of it
// cannot disagree. It is not safe for concurrent use.
type Summary struct {
	Run Run
	// Attempts: keep each attempt of an instance (StepRecord.Tries), for
	// a reader that shows them (the report); records do not keep them.
	Attempts bool

	index   map[InstanceAddr]int // instance → its record in Run.Steps
	ends    map[string][2]int    // step name → its first and last instances' records
	next    []int                // record → the next record of its step, or -1
	output  map[InstanceAddr]*outputCount
	failed  []FailedStep
	changed int // the record Apply changed last, or -1
}

// outputCount is what an instance printed so far.
type outputCount struct{ bytes, lines int64 }

// FailedStep is a step instance, or a gate, that made the run fail.
type FailedStep struct {
	Address string // step.NAME["KEY"], or the gate's stage.NAME
	Step    string // "" for a stage's gate
	Error   string
}

// NewSummary starts the summary of a run.
func NewSummary(run Run) *Summary {
	return &Summary{Run: run, index: map[InstanceAddr]int{}, ends: map[string][2]int{}, output: map[InstanceAddr]*outputCount{}}
}

// Expect makes room for a run of about n step instances (a plan's
// InstanceCount), so that the fold does not grow its records and indexes
// as they come: three folds of a 10,000-step apply regrew them 30 MB.
func (s *Summary) Expect(n int) {
	if len(s.Run.Steps) > 0 || n <= 0 {
		return
	}
	s.Run.Steps = make([]StepRecord, 0, n)
	s.next = make([]int, 0, n)
	s.index = make(map[InstanceAddr]int, n)
	s.ends = make(map[string][2]int, n)
}

// Apply folds one event into the run's state. It returns the index in
// Run.Steps of the step record it changed, or -1 when it changed none.
func (s *Summary) Apply(e Event) int {
	s.changed = -1
	s.gate(&e)
	switch e.Type {
	case StepLog:
		s.log(&e)
	case StepStarted:
		r := s.step(&e)
		if r.Started.IsZero() {
			r.Started = e.Time.UTC()
		}
		r.Attempts = e.Attempt
		if s.Attempts {
			r.Tries = append(r.Tries, Attempt{N: e.Attempt, Start: e.Time})
		}
	case StepRetrying:
		if a := s.lastTry(&e); a != nil {
			a.End, a.Status, a.Message, a.Retried = e.Time, StatusFailed, e.Message, true
		}
	case StepFinished:
		s.finished(&e)
	case RunFinished:
		if e.Status != "" {
			s.Run.Status, s.Run.Finished, s.Run.Outputs, s.Run.Outcome = e.Status, e.Time.UTC(), e.Outputs, e.Outcome
		}
		s.closeWaitingGates(e.Status)
	case GateRejected, GateTimedOut, GateWindowClosed:
		// A gate that stopped the run is why it failed: handlers say so.
		step, _ := Addr(e.Gate).Step()
		s.failed = append(s.failed, FailedStep{Address: e.Gate, Step: step, Error: e.Message})
	}
	return s.changed
}

func (s *Summary) log(e *Event) {
	addr := e.InstanceAddr()
	c := s.output[addr]
	if c == nil {
		c = &outputCount{}
		s.output[addr] = c
	}
	c.bytes += int64(len(e.Message))
	c.lines++
}

// lastTry is the instance's attempt still running, or nil.
func (s *Summary) lastTry(e *Event) *Attempt {
	i, ok := s.index[e.InstanceAddr()]
	if !ok {
		return nil
	}
	r := &s.Run.Steps[i]
	if n := len(r.Tries); n > 0 && r.Tries[n-1].End.IsZero() {
		return &r.Tries[n-1]
	}
	return nil
}

func (s *Summary) finished(e *Event) {
	if a := s.lastTry(e); a != nil {
		a.End, a.Status, a.Message = e.Time, e.Status, e.Message
	}
	r := s.step(e)
	r.Status, r.Finished, r.Message, r.Outputs, r.Diagnostics = e.Status, e.Time.UTC(), e.Message, e.Outputs, e.RecordedDiagnostics
	r.Stage, r.Duration = e.Stage, e.Duration
	if c := s.output[e.InstanceAddr()]; c != nil {
		r.OutputBytes, r.OutputLines = c.bytes, c.lines
	}
	if e.Attempt > 0 {
		r.Attempts = e.Attempt
	}
	if e.Status == StatusFailed {
		s.failed = append(s.failed, FailedStep{Address: r.Addr().String(), Step: e.Step, Error: e.Message})
	}
}

// step is the record of the event's instance, made running when new.
func (s *Summary) step(e *Event) *StepRecord {
	addr := e.InstanceAddr()
	i, ok := s.index[addr]
	if !ok {
		i = len(s.Run.Steps)
		s.index[addr] = i
		s.next = append(s.next, -1)
		if ends, ok := s.ends[e.Step]; ok {
			s.next[ends[1]] = i
			s.ends[e.Step] = [2]int{ends[0], i}
		} else {
			s.ends[e.Step] = [2]int{i, i}
		}
		s.Run.Steps = append(s.Run.Steps, StepRecord{Step: e.Step, Instance: e.Instance, Phase: e.Phase,
			Action: e.Action, Status: StatusRunning})
	}
	s.changed = i
	return &s.Run.Steps[i]
}

// Record is the record of a step instance; nil before its first event.
func (s *Summary) Record(a InstanceAddr) *StepRecord {
	if i, ok := s.index[a]; ok {
		return &s.Run.Steps[i]
	}
	return nil
}

// Instances are the records of a step's instances, in the order they
// started (or finished, for those that never started).
func (s *Summary) Instances(step string) []*StepRecord {
	var out []*StepRecord
	s.each(step, func(r *StepRecord) { out = append(out, r) })
	return out
}

// each calls fn with the record of each instance of a step.
func (s *Summary) each(step string, fn func(*StepRecord)) {
	ends, ok := s.ends[step]
	for i := ends[0]; ok && i >= 0; i = s.next[i] {
		fn(&s.Run.Steps[i])
	}
}

// Failed are the step instances that failed (continue_on_error aside) and
// the gates that stopped the run, in the order they did.
func (s *Summary) Failed() []FailedStep { return s.failed }

// StepState is what the records of a step's instances say of it.
type StepState struct {
	Error   string    // its failed instances' errors, one a line
	Started time.Time // its first attempt; zero when it never started
}

// Step is what the records of a step's instances say of it.
func (s *Summary) Step(name string) StepState {
	var st StepState
	var errs []string
	s.each(name, func(r *StepRecord) {
		if !r.Started.IsZero() && (st.Started.IsZero() || r.Started.Before(st.Started)) {
			st.Started = r.Started
		}
		if r.Status == StatusFailed {
			msg := r.Message
			if r.Instance != "" {
				msg = r.Addr().Name() + ": " + msg
			}
			errs = append(errs, msg)
		}
	})
	st.Error = strings.Join(errs, "\n")
	return st
}

// gate keeps the run's gate records current.
func (s *Summary) gate(e *Event) {
	if e.Gate == "" {
		return
	}
	var g *GateRecord
	for i := range s.Run.Gates {
		if s.Run.Gates[i].Gate == e.Gate {
			g = &s.Run.Gates[i]
		}
	}
	if g == nil {
		s.Run.Gates = append(s.Run.Gates, GateRecord{Gate: e.Gate, Kind: e.GateKind, Since: e.Time.UTC()})
		g = &s.Run.Gates[len(s.Run.Gates)-1]
	}
	if e.GateKind != "" {
		g.Kind = e.GateKind
	}
	answer := func(d AnswerDecision) {
		g.Answers = append(g.Answers, AnswerRecord{User: e.User, Decision: d, Reason: e.Reason, Message: e.Message, Time: e.Time.UTC()})
	}
	switch e.Type {
	case GateWaiting:
		g.Status, g.Message, g.Until = GateStatusWaiting, e.Message, e.Until.UTC()
	case GateApproved:
		answer(AnswerApproved)
	case GateRefused:
		answer(AnswerRefused)
	case GateWindowOverridden:
		answer(AnswerWindowOverridden)
	case GateRejected:
		answer(AnswerRejected)
		g.Status, g.Message = GateStatusRejected, e.Message
	case GateTimedOut:
		g.Status, g.Message = GateStatusTimedOut, e.Message
	case GateWindowClosed:
		g.Status, g.Message = GateStatusWindowClosed, e.Message
	case GateStale:
		g.Status, g.Message = GateStatusStale, e.Message
	case GateAbandoned:
		g.Status, g.Message = GateStatusAbandoned, e.Message
	case GatePassed:
		g.Status, g.Message = GateStatusPassed, e.Message
	}
	if g.Status != GateStatusWaiting {
		g.Until = time.Time{}
	}
}

// closeWaitingGates: a run that ends while waiting at a gate (cancelled,
// or an earlier failure stopped it) did not pass it.
func (s *Summary) closeWaitingGates(status Status) {
	if status == StatusParked { // it still waits, for the run that resumes it
		return
	}
	for i := range s.Run.Gates {
		g := &s.Run.Gates[i]
		if g.Status != GateStatusWaiting {
			continue
		}
		g.Status, g.Message, g.Until = GateStatusAbandoned, "the run ended while it waited: an earlier step failed", time.Time{}
		if status == StatusCancelled {
			g.Status, g.Message = GateStatusCancelled, "the run was cancelled while it waited"
		}
	}
}
