// Package record records every run as it happens: the plan that was
// applied, every event (already redacted by the engine), a summary per
// step, gate answers and artifacts, behind a Backend (backend.go). Local,
// the first backend, keeps them in an embedded database (bbolt) beside the
// pipeline. A run that fails, is cancelled or whose process dies keeps
// everything recorded up to that moment; `pipectl runs` lists and shows
// them.
package record

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	bolt "go.etcd.io/bbolt"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
)

var (
	runsBucket   = []byte("runs")
	metaKey      = []byte("meta")
	planKey      = []byte("plan")
	eventsBucket = []byte("events")
	valuesBucket = []byte("values")
	stepsBucket  = []byte("steps") // step records while the run goes on (Recorder.flush)
	// The plan while the run goes on; the final write moves it to planKey
	// (local_journal.go, settlePlan).
	pendingPlanBucket = []byte("plan_pending")
)

// Local is the Backend of one pipeline directory: a bbolt database,
// .pipectl/runs.db, and lock files beside it. Nobody holds the database
// open for long: a recorder opens it for each write (a few milliseconds
// every 200 ms at most), readers open it read-only, so `pipectl runs`
// works while applies run, and applies of two environments of one
// pipeline record side by side. What keeps two applies of one environment
// apart is the environment's lock file (Lock).
type Local struct {
	dir  string // the pipeline's .pipectl directory
	path string // the database
}

// openTimeout bounds the wait for another pipectl's write transaction.
const openTimeout = 10 * time.Second

// NewLocal is the local backend of a pipeline directory. It creates
// nothing until Init or a write.
func NewLocal(pipelineDir string) *Local {
	dir := filepath.Join(pipelineDir, ".pipectl")
	return &Local{dir: dir, path: filepath.Join(dir, FileName)}
}

// Init creates the .pipectl directory and the database if needed, and
// refuses a damaged database (see ErrDamaged).
func (s *Local) Init() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if err := s.update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(runsBucket); err != nil {
			return err
		}
		return initPlans(tx)
	}); err != nil {
		return err
	}
	// Every run's head, and with it every summary's pages: a damaged page
	// shows now.
	return s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		return runs.ForEachBucket(func(id []byte) error {
			_, err := s.readHead(runs.Bucket(id))
			return err
		})
	})
}

// Where is the database file.
func (s *Local) Where() string { return s.path }

// ErrDamaged is the error of a database that cannot be read.
var ErrDamaged = errors.New("the run database is damaged")

func (s *Local) damaged(cause any) error {
	path := s.path
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return fmt.Errorf("%w: %s (%v). Move it aside (mv %s %s.damaged): pipectl then starts a fresh one; "+
		"the runs recorded in it are lost to pipectl, not to the file", ErrDamaged, path, cause, path, path)
}

// update runs fn in a write transaction of a freshly opened database.
func (s *Local) update(fn func(*bolt.Tx) error) error {
	return s.with(false, func(db *bolt.DB) error { return db.Update(fn) })
}

// view runs fn in a read transaction; without a database there is nothing
// to read and fn is not called.
func (s *Local) view(fn func(*bolt.Tx) error) error {
	if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return s.with(true, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			if tx.Bucket(runsBucket) == nil {
				return nil
			}
			return fn(tx)
		})
	})
}

// with opens the database and calls fn. A damaged file must give an error
// naming it, never a crash: bbolt maps the file in memory and trusts its
// pages, so a truncated file faults (SIGBUS) and a damaged page panics.
// Both become errors here; the database is then left as it is (a panicked
// transaction may hold its locks: closing could hang), the process ends
// soon after.
func (s *Local) with(readOnly bool, fn func(*bolt.DB) error) (err error) {
	if err := s.checkSize(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = s.damaged(r)
		}
	}()
	before, _ := os.Stat(s.path)
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: openTimeout, ReadOnly: readOnly})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return fmt.Errorf("the run database %s stayed locked for %s by another pipectl", s.path, openTimeout)
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrChecksum), errors.Is(err, bolt.ErrVersionMismatch):
		return s.damaged(err)
	case err != nil:
		return fmt.Errorf("opening the run database %s: %w", s.path, err)
	}
	if !readOnly && replaced(before, s.path) { // compacted while we waited for it (Local.Compact)
		db.Close()
		return s.with(readOnly, fn)
	}
	if err := fn(db); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// replaced tells whether the file at path is no longer the one it was
// before it was opened.
func replaced(before os.FileInfo, path string) bool {
	now, err := os.Stat(path)
	return before != nil && err == nil && !os.SameFile(before, now)
}

// checkSize refuses a file shorter than its own header says: bbolt would
// fault reading the missing pages.
func (s *Local) checkSize() error {
	f, err := os.Open(s.path)
	if err != nil {
		return nil // bbolt creates it, or reports why not
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() == 0 {
		return nil // a new file
	}
	need, err := highWaterMark(f)
	if err != nil {
		return s.damaged(err)
	}
	if need > info.Size() {
		return s.damaged(fmt.Errorf("it is %d bytes long but holds %d: it was truncated", info.Size(), need))
	}
	return nil
}

// The records are the vocabulary's (api/v1); records keep them as its JSON.
type (
	Run        = v1.Run
	StepRecord = v1.StepRecord
)

// StatusRunning is recorded while a run goes on. A run holds the lock of
// its environment for its whole duration (Local.Lock); a run still
// marked running whose lock is free had its process die: it is reported as
// StatusInterrupted.
const (
	StatusRunning     = v1.StatusRunning
	StatusInterrupted = v1.StatusInterrupted
)

// ListRuns returns the runs f selects, newest first.
func (s *Local) ListRuns(f Filter) ([]*Run, error) {
	var out []*Run
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).ForEachBucket(func(id []byte) error {
			r, err := s.readMeta(tx.Bucket(runsBucket).Bucket(id))
			if err == nil && f.Match(r) {
				out = append(out, r)
			}
			return err
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, err
}

// LatestOf is the id of the newest run f selects, read from every run's
// head (its summary without step records): ListRuns decodes every kept run
// with its step records, and `runs show latest` of a store keeping a few
// 10,000-step runs spent most of its time there.
func (s *Local) LatestOf(f Filter) (string, error) {
	var latest *Run
	err := s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		return runs.ForEachBucket(func(id []byte) error {
			r, err := s.readHead(runs.Bucket(id))
			if err == nil && f.Match(r) && (latest == nil || r.Started.After(latest.Started)) {
				latest = r
			}
			return err
		})
	})
	if latest == nil {
		return "", err
	}
	return latest.ID, err
}

// Show returns one run and the plan it applied (JSON), and hands each of
// its events to onEvent (when not nil) as it reads them: a run's events
// are never all in memory at once.
func (s *Local) Show(id string, onEvent func(engine.Event) error) (*Run, json.RawMessage, error) {
	var run *Run
	var plan json.RawMessage
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		if b == nil {
			return nil
		}
		var err error
		if run, err = s.readMeta(b); err != nil {
			return err
		}
		plan = append(json.RawMessage(nil), runPlan(b)...)
		if onEvent == nil {
			return nil
		}
		return b.Bucket(eventsBucket).ForEach(func(_, v []byte) error {
			var e engine.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			return onEvent(e)
		})
	})
	if err == nil && run == nil {
		err = fmt.Errorf("no run %q: `pipectl runs` lists them", id)
	}
	return run, plan, err
}

// DecodePlan decodes the plan of run id, as Show and Get return it.
func DecodePlan(id string, raw json.RawMessage) (*engine.Plan, error) {
	var plan engine.Plan
	if err := json.Unmarshal(raw, &plan); err != nil {
		return nil, fmt.Errorf("the plan of run %s is damaged: %w", id, err)
	}
	return &plan, nil
}

// readMeta reads a run's summary. A run recorded as running whose process
// no longer holds its environment's lock died: it reads as interrupted.
func (s *Local) readMeta(b *bolt.Bucket) (*Run, error) {
	var r Run
	if err := json.Unmarshal(b.Get(metaKey), &r); err != nil {
		return nil, fmt.Errorf("a run record is damaged: %w", err)
	}
	if err := checkFormat(&r); err != nil {
		return nil, err
	}
	if err := readSteps(b, &r); err != nil {
		return nil, err
	}
	s.settle(&r, true)
	return &r, nil
}

// settle completes a run as read with what is kept beside its record: a
// failed write's mark, the lock that tells a run going on from one whose
// process died and, when withSteps, the step outcomes kept beside it.
func (s *Local) settle(r *Run, withSteps bool) {
	if r.RecordFailed == "" && (s.recordFailed(r.ID) || s.outcomesSayRecordFailed(r.ID)) {
		r.RecordFailed = "a write to the run database failed: what happened after it is not recorded"
	}
	if r.Status == StatusRunning && s.stillRunning(r) {
		return
	}
	// The record of a run that did not finish it (a full disk, a process
	// that died) may miss the last step outcomes: they are kept beside it.
	if withSteps {
		if kept, err := s.KeptOutcomes(r.ID); err == nil && kept != nil { // else a resume says why
			kept.apply(r)
			if r.RecordFailed != "" && kept.Failed == "" {
				r.RecordFailed += "; the steps' outcomes are from those kept beside it"
			}
		}
	}
	if r.Status == StatusRunning {
		r.Status = StatusInterrupted
	}
	for i := range r.Steps {
		if r.Steps[i].Status == StatusRunning {
			r.Steps[i].Status = StatusInterrupted
		}
	}
}

// readSteps reads the step records of a run whose summary has none: it
// was still going on at its last flush (or its process died).
func readSteps(b *bolt.Bucket, r *Run) error {
	sb := b.Bucket(stepsBucket)
	if len(r.Steps) > 0 || sb == nil {
		return nil
	}
	return sb.ForEach(func(_, v []byte) error {
		var s StepRecord
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("a run record is damaged: %w", err)
		}
		r.Steps = append(r.Steps, s)
		return nil
	})
}

func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

// Values returns the kept values of a run's succeeded steps (see
// Recorder.StepValue): what a resume starts from.
func (s *Local) Values(id string) (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	err := s.view(func(tx *bolt.Tx) error {
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
	// storedValue, written out: both parts are compact JSON already,
	// which json.Marshal would scan and copy again.
	b := make([]byte, 0, len(`{"type":,"value":}`)+len(ty)+len(val))
	b = append(append(append(append(b, `{"type":`...), ty...), `,"value":`...), val...)
	return append(b, '}'), true
}

// holdsSecret looks for a known secret in every string of v (which has no
// mark: encodeValue checked), before any encoding: JSON escapes characters
// such as & < > " (\u0026...), and the redactor searches for the raw text.
func holdsSecret(v cty.Value, redactor *engine.Redactor) bool {
	found := false
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
