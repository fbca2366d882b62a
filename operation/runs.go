package operation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// ListRuns lists the recorded runs of a pipeline, newest first.
type ListRuns struct {
	// Dir is the pipeline's directory (or a file in it).
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// Heads leaves the runs' step records unread where the backend can
	// (Run.StepTotal counts them): a table of runs needs their number
	// only, and a hundred kept runs of 10,000 steps are a million records.
	Heads bool
}

// Run lists the runs.
func (o *ListRuns) Run() ([]*record.Run, error) {
	store, err := openRecords(o.Dir, "", o.Backend)
	if err != nil {
		return nil, err
	}
	if o.Heads {
		return store.ListHeads(record.Filter{})
	}
	return store.List()
}

// ShowRun reads one recorded run.
type ShowRun struct {
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
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
	store, id, err := openRun(o.Dir, o.ID, o.Backend)
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

// Prune deletes the oldest finished runs of a pipeline beyond a retention
// policy, then compacts what the deletions left behind.
type Prune struct {
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// Keep is how many of the newest finished runs of each environment to
	// keep; a run going on or parked at a gate is always kept.
	Keep int
	// MaxBytes caps what the kept runs may take (0: no cap).
	MaxBytes int64
}

// DefaultKeep is how many finished runs of each environment every apply keeps.
const DefaultKeep = record.DefaultKeep

// Pruned is what a prune did: the runs deleted and kept, and the
// compaction, or why there was none (an apply going on).
type Pruned struct {
	*record.Pruned
	Where        string
	Compacted    *record.Compacted
	NotCompacted error
}

// Run prunes, then compacts.
func (o *Prune) Run(ctx context.Context) (*Pruned, error) {
	if o.Keep < 0 {
		return nil, fmt.Errorf("-keep must be 0 or more, not %d", o.Keep)
	}
	store, err := openRecords(o.Dir, "", o.Backend)
	if err != nil {
		return nil, err
	}
	policy := record.Retention{KeepPerEnvironment: o.Keep, MaxBytes: o.MaxBytes}
	if o.Keep == 0 {
		policy.MaxBytes = 1 // -keep 0 keeps no finished run: every one is over a 1-byte cap
	}
	pruned, err := store.Prune(policy)
	if err != nil {
		return nil, err
	}
	out := &Pruned{Pruned: pruned, Where: store.Path()}
	out.Compacted, err = store.Compact(ctx)
	if errors.Is(err, record.ErrActive) {
		out.NotCompacted, err = err, nil
	}
	return out, err
}
