package record

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/pipectl/pipectl/engine"
)

// FileName is the local backend's database, under the pipeline's .pipectl
// directory.
const FileName = "runs.db"

// Store is the record of one pipeline as its callers use it: a Backend
// and the queries built on it, the same on every backend.
type Store struct {
	Backend
}

// Open returns the record of a pipeline directory for recording: it
// creates what recording needs, and refuses a damaged record.
func Open(pipelineDir string) (*Store, error) {
	s := &Store{NewLocal(pipelineDir)}
	if err := s.Init(); err != nil {
		return nil, err
	}
	return s, nil
}

// OpenExisting returns the record of a pipeline directory for reading. It
// creates nothing: a directory that does not exist is an error, one
// without a record has no runs.
func OpenExisting(pipelineDir string) (*Store, error) {
	info, err := os.Stat(pipelineDir)
	if err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%s is not a pipeline directory", pipelineDir)
	}
	return &Store{NewLocal(pipelineDir)}, nil
}

// Path names where the record is, for messages.
func (s *Store) Path() string { return s.Where() }

// Close is kept for callers of the former API: nothing stays open.
func (s *Store) Close() error { return nil }

// List returns every run, newest first.
func (s *Store) List() ([]*Run, error) { return s.ListRuns(Filter{}) }

// Get returns one run with its events and the plan it applied (JSON).
func (s *Store) Get(id string) (*Run, []engine.Event, json.RawMessage, error) {
	var events []engine.Event
	run, plan, err := s.Show(id, func(e engine.Event) error {
		events = append(events, e)
		return nil
	})
	return run, events, plan, err
}

// Plan returns the plan a run applied.
func (s *Store) Plan(id string) (*engine.Plan, error) {
	_, raw, err := s.Show(id, nil)
	if err != nil {
		return nil, err
	}
	return DecodePlan(id, raw)
}

// ListHeads returns the runs f selects, newest first, without their step
// records where the backend can leave them unread (StepCount says how
// many; Run.StepTotal either way): what a list of runs shows.
func (s *Store) ListHeads(f Filter) ([]*Run, error) {
	if b, ok := s.Backend.(interface{ ListHeads(Filter) ([]*Run, error) }); ok {
		return b.ListHeads(f)
	}
	return s.ListRuns(f)
}

// Latest is the id of the newest run, for `latest` in place of a run id.
func (s *Store) Latest() (string, error) { return s.LatestOf(Filter{}) }

// LatestOf is the id of the newest run f selects. A backend that can tell
// it from its runs' heads, without their step records, says so; else every
// run is read whole.
func (s *Store) LatestOf(f Filter) (string, error) {
	var id string
	var err error
	if b, ok := s.Backend.(interface{ LatestOf(Filter) (string, error) }); ok {
		id, err = b.LatestOf(f)
	} else {
		var list []*Run
		if list, err = s.ListRuns(f); len(list) > 0 {
			id = list[0].ID
		}
	}
	if err == nil && id == "" {
		what := "no run"
		if f.Environment != "" {
			what = "no run of environment " + f.Environment
		}
		err = fmt.Errorf("%s is recorded in %s yet", what, s.Where())
	}
	return id, err
}

// FollowPoll is how often Follow looks for new events.
const FollowPoll = 200 * time.Millisecond

// Follow hands on every event of a run as it is recorded, until the run
// is no longer running (finished, or its process died) or ctx ends.
func Follow(ctx context.Context, b Backend, id string, fn func(engine.Event) error) error {
	var after uint64
	for {
		run, last, err := b.EventsSince(id, after, fn)
		if err != nil {
			return err
		}
		after = last
		if run.Status != StatusRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil // Ctrl-C: the user has seen enough
		case <-time.After(FollowPoll):
		}
	}
}

// KeptOutcomes are the step outcomes kept beside a run's record (see
// OutcomeKeeper); nil when the backend keeps none or the run has none.
func (s *Store) KeptOutcomes(id string) (*Outcomes, error) {
	if k, ok := s.Backend.(OutcomeKeeper); ok {
		return k.KeptOutcomes(id)
	}
	return nil, nil
}
