package engine

import (
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

// runState is what run.* shows a step: how the run has gone so far (see
// dsl.RunState). It learns from the events, already redacted, so an error
// it hands on holds no secret.
type runState struct {
	mu      sync.Mutex
	id      string
	status  string
	started map[string]time.Time // step → its first attempt
	errors  map[string][]string  // step → its failed instances' errors
	failed  []dsl.FailedStep
	steps   map[string]dsl.StepState
	main    cty.Value // run.* as the main steps see it
}

func newRunState(cfg *dsl.Config, id string) *runState {
	st := &runState{id: id, status: string(statusRunning), started: map[string]time.Time{}, errors: map[string][]string{},
		steps: map[string]dsl.StepState{}}
	st.main = cfg.RunValue(dsl.RunState{ID: id, Status: st.status})
	return st
}

// event notes a step's start and its instances' failures.
func (st *runState) event(e Event) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case e.Type == StepStarted:
		if _, ok := st.started[e.Step]; !ok {
			st.started[e.Step] = e.Time
		}
	case e.Type == StepFinished && e.Status == StatusFailed:
		st.failed = append(st.failed, dsl.FailedStep{Address: StepAddr(instanceID(e.Step, e.Instance)).String(), Step: e.Step, Error: e.Message})
		msg := e.Message
		if e.Instance != "" {
			msg = instanceID(e.Step, e.Instance) + ": " + msg
		}
		st.errors[e.Step] = append(st.errors[e.Step], msg)
	case e.Type == GateRejected || e.Type == GateTimedOut || e.Type == GateWindowClosed:
		// A gate that stopped the run is why it failed: handlers say so.
		step := ""
		if name, ok := strings.CutPrefix(e.Gate, "step."); ok {
			step = name
		}
		st.failed = append(st.failed, dsl.FailedStep{Address: e.Gate, Step: step, Error: e.Message})
	}
}

// finished notes a step's outcome.
func (st *runState) finished(name string, status Status) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := dsl.StepState{Status: string(status)}
	if status == StatusFailed || status == StatusFailedContinued {
		s.Error = strings.Join(st.errors[name], "\n")
	}
	if start, ok := st.started[name]; ok {
		d := time.Since(start)
		s.Duration = &d
	}
	st.steps[name] = s
}

// setStatus is run.status once the main steps are over.
func (st *runState) setStatus(s Status) {
	st.mu.Lock()
	st.status = string(s)
	st.mu.Unlock()
}

// value is run.* for a step about to be evaluated: the main steps may
// only read run.id (dsl checks it), handlers and finally everything.
func (st *runState) value(cfg *dsl.Config, s *dsl.Step) cty.Value {
	if s.Kind == dsl.Main {
		return st.main
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return cfg.RunValue(dsl.RunState{ID: st.id, Status: st.status, Failed: st.failed, Steps: st.steps})
}
