// Package runs records every run in an embedded database (bbolt) beside the
// pipeline, as it happens: the plan that was applied, every event (already
// redacted by the engine), and a summary per step. A run that fails, is
// cancelled or whose process dies keeps everything recorded up to that
// moment; `pipectl runs` lists and shows them.
package runs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	bolt "go.etcd.io/bbolt"

	"github.com/pipectl/pipectl/engine"
)

// FileName is the database, under the pipeline's .pipectl directory.
const FileName = "runs.db"

var (
	runsBucket   = []byte("runs")
	metaKey      = []byte("meta")
	planKey      = []byte("plan")
	eventsBucket = []byte("events")
	valuesBucket = []byte("values")
)

// Store is the run database of one pipeline directory.
type Store struct {
	db *bolt.DB
}

// Open opens (creating if needed) the run database of a pipeline directory.
// It waits at most a few seconds for another pipectl holding it.
func Open(pipelineDir string) (*Store, error) {
	dir := filepath.Join(pipelineDir, ".pipectl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("another pipectl is running this pipeline (it holds %s): wait for it to finish", filepath.Join(dir, FileName))
	}
	if err != nil {
		return nil, fmt.Errorf("opening the run database: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(runsBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Run is the summary of one run.
type Run struct {
	ID          string         `json:"id"`
	Pipeline    string         `json:"pipeline"`
	Environment string         `json:"environment,omitempty"`
	Started     time.Time      `json:"started"`
	Finished    time.Time      `json:"finished,omitzero"`
	Status      engine.Status  `json:"status"` // "running" until it finishes
	Steps       []StepRecord   `json:"steps"`
	Outputs     map[string]any `json:"outputs,omitempty"`
	ResumedFrom string         `json:"resumed_from,omitempty"`
}

// StatusRunning is recorded while a run goes on. A run holds the database
// for its whole duration (which also keeps two runs of one pipeline from
// overlapping), so whoever can read a run still marked running knows its
// process died: it is reported as StatusInterrupted.
const (
	StatusRunning     engine.Status = "running"
	StatusInterrupted engine.Status = "interrupted"
)

// StepRecord is the outcome of one step instance.
type StepRecord struct {
	Step     string         `json:"step"`
	Instance string         `json:"instance,omitempty"`
	Phase    string         `json:"phase"`
	Action   string         `json:"action"`
	Status   engine.Status  `json:"status"`
	Attempts int            `json:"attempts,omitempty"`
	Started  time.Time      `json:"started,omitzero"`
	Finished time.Time      `json:"finished,omitzero"`
	Message  string         `json:"message,omitempty"`
	Outputs  map[string]any `json:"outputs,omitempty"`
}

// List returns every run, newest first.
func (s *Store) List() ([]*Run, error) {
	var out []*Run
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).ForEachBucket(func(id []byte) error {
			r, err := readMeta(tx.Bucket(runsBucket).Bucket(id))
			if err == nil {
				out = append(out, r)
			}
			return err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, err
}

// Get returns one run with its events and the plan it applied (JSON).
func (s *Store) Get(id string) (*Run, []engine.Event, json.RawMessage, error) {
	var run *Run
	var events []engine.Event
	var plan json.RawMessage
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		if b == nil {
			return fmt.Errorf("no run %q: `pipectl runs` lists them", id)
		}
		var err error
		if run, err = readMeta(b); err != nil {
			return err
		}
		plan = append(json.RawMessage(nil), b.Get(planKey)...)
		return b.Bucket(eventsBucket).ForEach(func(_, v []byte) error {
			var e engine.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			events = append(events, e)
			return nil
		})
	})
	return run, events, plan, err
}

func readMeta(b *bolt.Bucket) (*Run, error) {
	var r Run
	if err := json.Unmarshal(b.Get(metaKey), &r); err != nil {
		return nil, fmt.Errorf("a run record is damaged: %w", err)
	}
	if r.Status == StatusRunning {
		r.Status = StatusInterrupted // its process died: see StatusRunning
	}
	for i := range r.Steps {
		if r.Steps[i].Status == StatusRunning {
			r.Steps[i].Status = StatusInterrupted
		}
	}
	return &r, nil
}

func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

// Values returns the kept values of a run's succeeded steps (see
// Recorder.StepValue): what a resume starts from.
func (s *Store) Values(id string) (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		if b == nil {
			return fmt.Errorf("no run %q: `pipectl runs` lists them", id)
		}
		vb := b.Bucket(valuesBucket)
		if vb == nil {
			return nil
		}
		return vb.ForEach(func(k, v []byte) error {
			val, err := decodeValue(v)
			if err != nil {
				return fmt.Errorf("the kept value of step %s is damaged: %w", k, err)
			}
			out[string(k)] = val
			return nil
		})
	})
	return out, err
}

// storedValue is a value with its type, as cty's JSON encoding needs both.
type storedValue struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

// encodeValue keeps a value that holds no secret: no sensitive mark, and
// no string the redactor knows (a plugin may echo a secret in a plain output).
func encodeValue(v cty.Value, redactor *engine.Redactor) ([]byte, bool) {
	if v.ContainsMarked() || !v.IsWhollyKnown() {
		return nil, false
	}
	ty, err := v.Type().MarshalJSON()
	if err != nil {
		return nil, false
	}
	if holdsSecret(v, redactor) {
		return nil, false
	}
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, false
	}
	b, err := json.Marshal(storedValue{Type: ty, Value: val})
	return b, err == nil
}

// holdsSecret looks for a known secret in every string of v, before any
// encoding: JSON escapes characters such as & < > " (\u0026...), and the
// redactor searches for the raw text.
func holdsSecret(v cty.Value, redactor *engine.Redactor) bool {
	found := false
	v, _ = v.UnmarkDeep()
	_ = cty.Walk(v, func(_ cty.Path, e cty.Value) (bool, error) {
		if !found && e.IsKnown() && !e.IsNull() && e.Type() == cty.String && redactor.Contains(e.AsString()) {
			found = true
		}
		return !found, nil
	})
	return found
}

func decodeValue(b []byte) (cty.Value, error) {
	var sv storedValue
	if err := json.Unmarshal(b, &sv); err != nil {
		return cty.NilVal, err
	}
	var ty cty.Type
	if err := ty.UnmarshalJSON(sv.Type); err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(sv.Value, ty)
}
