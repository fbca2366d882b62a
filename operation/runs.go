package operation

import (
	"encoding/json"
	"fmt"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// ListRuns lists the recorded runs of a pipeline, newest first.
type ListRuns struct {
	// Dir is the pipeline's directory (or a file in it).
	Dir string
}

// Run lists the runs.
func (o *ListRuns) Run() ([]*record.Run, error) {
	store, err := openRecords(o.Dir)
	if err != nil {
		return nil, err
	}
	return store.List()
}

// ShowRun reads one recorded run.
type ShowRun struct {
	Dir string
	// ID is a run id, or Latest.
	ID string
}

// ShownRun is a recorded run: its summary, the plan it applied as
// recorded, and its events, read on demand (there may be many).
type ShownRun struct {
	ID       string
	Run      *record.Run
	PlanJSON json.RawMessage
	store    *record.Store
}

// Run reads the run.
func (o *ShowRun) Run() (*ShownRun, error) {
	store, id, err := openRun(o.Dir, o.ID)
	if err != nil {
		return nil, err
	}
	run, planJSON, err := store.Show(id, nil)
	if err != nil {
		return nil, err
	}
	return &ShownRun{ID: id, Run: run, PlanJSON: planJSON, store: store}, nil
}

// Plan is the plan the run applied: what was approved.
func (r *ShownRun) Plan() (*engine.Plan, error) { return record.DecodePlan(r.ID, r.PlanJSON) }

// Events hands on every recorded event of the run, in order.
func (r *ShownRun) Events(fn func(engine.Event) error) error {
	_, _, err := r.store.Show(r.ID, fn)
	return err
}

// Prune deletes the oldest finished runs of a pipeline.
type Prune struct {
	Dir string
	// Keep is how many of the newest runs to keep; running ones are
	// always kept.
	Keep int
}

// DefaultKeep is how many runs every apply keeps.
const DefaultKeep = record.DefaultKeep

// Run prunes, and says how many runs it deleted.
func (o *Prune) Run() (int, error) {
	if o.Keep < 0 {
		return 0, fmt.Errorf("-keep must be 0 or more, not %d", o.Keep)
	}
	store, err := openRecords(o.Dir)
	if err != nil {
		return 0, err
	}
	return store.Prune(o.Keep)
}
