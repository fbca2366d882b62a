package engine

import (
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
)

// runState is what run.* shows a step: how the run has gone so far (see
// dsl.RunState). It learns from the events, already redacted, through the
// one fold records and views use too (v1.Summary), so an error it hands on
// holds no secret and says what `runs show` says.
type runState struct {
	mu      sync.Mutex
	id      string
	status  string
	summary *v1.Summary
	steps   map[string]dsl.StepState
	main    cty.Value // run.* as the main steps see it
}

func newRunState(cfg *dsl.Config, id string, instances int) *runState {
	st := &runState{id: id, status: string(statusRunning), summary: v1.NewSummary(v1.Run{ID: id}), steps: map[string]dsl.StepState{}}
	st.summary.Expect(instances)
	st.main = cfg.RunValue(dsl.RunState{ID: id, Status: st.status})
	return st
}

// event folds one event into the run's state.
func (st *runState) event(e Event) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.summary.Apply(e)
}

// instances is the outcome of every step instance so far, by its name
// (Result.Instances).
func (st *runState) instances() map[string]Status {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]Status, len(st.summary.Run.Steps))
	for _, r := range st.summary.Run.Steps {
		if r.Status != v1.StatusRunning {
			out[instanceID(r.Step, r.Instance)] = r.Status
		}
	}
	return out
}

// finished notes a step's outcome, as the scheduler decided it from its
// instances'.
func (st *runState) finished(name string, status Status) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := dsl.StepState{Status: string(status)}
	rec := st.summary.Step(name)
	if status.Failed() {
		s.Error = rec.Error
	}
	if !rec.Started.IsZero() {
		d := time.Since(rec.Started)
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
	return cfg.RunValue(dsl.RunState{ID: st.id, Status: st.status, Failed: st.summary.Failed(), Steps: st.steps})
}
