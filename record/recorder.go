package record

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/engine"
)

// flushEvery bounds what a crash can lose: events reach the disk in one
// transaction (one fsync) at most this long after they happen, rather than
// one fsync per event, which would cost more than the steps themselves.
const flushEvery = 200 * time.Millisecond

// Recorder is an engine.EventSink that records a run as it happens.
type Recorder struct {
	store    *Store
	token    uint64      // the lock's fencing token (Lease.Token)
	summary  *v1.Summary // the run as its events tell it
	run      *Run        // the summary's
	redactor *engine.Redactor

	mu      sync.Mutex
	pending []engine.Event
	spare   []engine.Event    // the last flush's events, written: pending's next array
	values  map[string][]byte // step → typed value, for a resume
	logs    map[string]*stepLog
	seq     uint64
	dirty   map[int]bool // steps (index in run.Steps) changed since the last flush
	cost    RecordCost
	err     error // the last write's
	failed  bool  // some write failed (the record is marked incomplete)
	// Step outcomes, written as they happen where a full disk does not
	// stop them (outcomes.go); nil on a backend that does not keep them.
	outcomes       OutcomeLog
	outcomesErr    error // why an outcome could not be kept
	outcomesToSync bool
	onError        func(error)
	stop           chan struct{}
	done           chan struct{}

	// Artifacts waiting for the next flush, how many the run attached and
	// how many bytes of content the record keeps (artifacts.go).
	artifacts     []PendingArtifact
	artifactSeq   uint64
	artifactBytes int64
}

// What is kept of each step instance's output: the first and the last
// logCap bytes, and how much there was. A step that prints gigabytes
// must not make the record, or reading it, that big.
const logCap = 1 << 20

// stepLog is the output of one step instance so far.
type stepLog struct {
	bytes, lines int64
	tail         []engine.Event // past the head: the last logCap bytes
	tailBytes    int
	dropped      int64 // lines between head and tail, not kept
	droppedBytes int64
}

// Start records a new run of a plan and returns its recorder; call Finish.
// The redactor decides which step values may be kept for a resume.
func (s *Store) Start(plan *engine.Plan, redactor *engine.Redactor) (*Recorder, error) {
	return s.startRun(newID(), 0, plan, redactor)
}

// StartRun is Start for the run an environment's lock was taken for
// (Lease.RunID): its writes carry the lock's fencing token.
func (s *Store) StartRun(lease Lease, plan *engine.Plan, redactor *engine.Redactor) (*Recorder, error) {
	return s.startRun(lease.RunID(), lease.Token(), plan, redactor)
}

func (s *Store) startRun(id string, token uint64, plan *engine.Plan, redactor *engine.Redactor) (*Recorder, error) {
	r := &Recorder{
		store: s,
		token: token,
		summary: v1.NewSummary(Run{FormatVersion: v1.RecordFormatVersion, ID: id, Pipeline: plan.Pipeline, Environment: plan.Environment,
			Started: time.Now().UTC(), Status: StatusRunning}),
		redactor: redactor,
		values:   map[string][]byte{},
		dirty:    map[int]bool{},
		logs:     map[string]*stepLog{},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	r.summary.Expect(plan.InstanceCount())
	r.run = &r.summary.Run
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	// Retention must not keep a run from starting.
	_, _ = s.Prune(Retention{KeepPerEnvironment: DefaultKeep})
	keeper, _ := s.Backend.(OutcomeKeeper)
	if keeper != nil {
		if r.outcomes, err = keeper.KeepOutcomes(id, len(plan.Steps)); err != nil {
			return nil, err
		}
	}
	if err := s.CreateRun(token, r.run, planJSON); err != nil {
		if keeper != nil {
			_ = r.outcomes.Close()
			_ = keeper.DropOutcomes(id)
		}
		return nil, err
	}
	go r.flushLoop()
	return r, nil
}

// ResumeOf records that this run resumes another.
func (r *Recorder) ResumeOf(id string) {
	r.mu.Lock()
	r.run.ResumedFrom = id
	r.mu.Unlock()
}

// OnWriteError sets what to do when a write to the database fails (it is
// called once, from the recorder's goroutine): the apply stops, since what
// happens next could not be recorded.
func (r *Recorder) OnWriteError(fn func(error)) {
	r.mu.Lock()
	r.onError = fn
	r.mu.Unlock()
}

// FromSavedPlan records the content hash of the saved plan the run applies.
func (r *Recorder) FromSavedPlan(hash string) {
	r.mu.Lock()
	r.run.SavedPlan = hash
	r.mu.Unlock()
}

// ID is the run's identifier.
func (r *Recorder) ID() string { return r.run.ID }

// Event records one event (engine.EventSink).
func (r *Recorder) Event(e engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := r.summary.Apply(e); i >= 0 {
		r.dirty[i] = true
	}
	key := e.Step + "\x00" + e.Instance
	switch e.Type {
	case engine.StepLog:
		r.log(key, e)
		return
	case engine.StepStarted:
		r.keep(Outcome{Step: e.Step, Instance: e.Instance, Phase: e.Phase, Status: StatusRunning})
	case engine.StepFinished:
		r.keep(Outcome{Step: e.Step, Instance: e.Instance, Phase: e.Phase, Status: e.Status})
		r.endLog(key)
	case engine.StepArtifact:
		r.artifact(e)
		e.Data = nil
	}
	r.pending = append(r.pending, e)
}

// log keeps a log line if it is in the head or, for now, the tail of the
// step's output.
func (r *Recorder) log(key string, e engine.Event) {
	l := r.logs[key]
	if l == nil {
		l = &stepLog{}
		r.logs[key] = l
	}
	n := len(e.Message)
	l.bytes += int64(n)
	l.lines++
	if l.bytes <= logCap {
		r.pending = append(r.pending, e)
		return
	}
	l.tail = append(l.tail, e)
	l.tailBytes += n
	for l.tailBytes > logCap && len(l.tail) > 1 {
		l.dropped++
		l.droppedBytes += int64(len(l.tail[0].Message))
		l.tailBytes -= len(l.tail[0].Message)
		l.tail = l.tail[1:]
	}
}

// endLog writes the tail of a finished step's output, after a line that
// says what was left out.
func (r *Recorder) endLog(key string) {
	l := r.logs[key]
	if l == nil || len(l.tail) == 0 {
		return
	}
	if l.dropped > 0 {
		gap := l.tail[0]
		gap.Stream = "pipectl"
		gap.Message = fmt.Sprintf("… %d lines (%d bytes) of output not kept: the record keeps the first and the last %d bytes of a step's output …",
			l.dropped, l.droppedBytes, logCap)
		r.pending = append(r.pending, gap)
	}
	r.pending = append(r.pending, l.tail...)
	l.tail, l.tailBytes, l.dropped, l.droppedBytes = nil, 0, 0, 0
}

// StepValue keeps a succeeded step's value (what step.NAME evaluates to),
// so that a resumed run can feed it to the steps that come after. A value
// that holds a secret is not kept: a resume runs that step again.
func (r *Recorder) StepValue(step string, v cty.Value) {
	b, ok := encodeValue(v, r.redactor)
	if !ok {
		return
	}
	r.mu.Lock()
	r.values[step] = b
	r.keep(Outcome{Step: step, Phase: engine.PhaseMain, Status: engine.StatusSucceeded, Done: true, Value: b})
	r.mu.Unlock()
}

// keep writes a step outcome where a full disk does not lose it, at once:
// not at the next flush, which may fail. The first that cannot be kept
// stops the keeping (the log says so, and a resume refuses).
func (r *Recorder) keep(o Outcome) {
	if r.outcomes == nil || r.outcomesErr != nil {
		return
	}
	r.outcomesErr = r.outcomes.Append(o)
	r.outcomesToSync = true
}

// syncOutcomes makes the kept outcomes as durable as a flush makes the
// record.
func (r *Recorder) syncOutcomes() {
	r.mu.Lock()
	do := r.outcomesToSync && r.outcomesErr == nil
	r.outcomesToSync = false
	r.mu.Unlock()
	if do {
		_ = r.outcomes.Sync()
	}
}

func (r *Recorder) flushLoop() {
	defer close(r.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.flush(false)
		case <-r.stop:
			r.flush(true)
			return
		}
	}
}

// flush writes the pending events and the current summary in one
// transaction. When the write fails, they are kept for the next flush,
// the record is marked incomplete until one succeeds, and onError is told.
//
// While the run goes on, a flush writes the steps that changed since the
// last one, each under its own key, and the run's summary without its
// steps: rewriting every step at every flush made a run's recording
// quadratic in its steps. The last flush (final) writes the whole
// summary, steps included, as records always had it.
func (r *Recorder) flush(final bool) {
	r.mu.Lock()
	events, values, artifacts, dirty := r.pending, r.values, r.artifacts, r.dirty
	if len(events) == 0 && len(values) == 0 && !final {
		r.mu.Unlock()
		return // nothing happened: no write, no fsync, during a long step
	}
	r.pending, r.values, r.artifacts, r.dirty = r.spare[:0], map[string][]byte{}, nil, map[int]bool{}
	r.spare = nil
	steps := make(map[int]StepRecord, len(dirty))
	for i := range dirty {
		steps[i] = r.run.Steps[i]
	}
	summary := *r.run
	summary.Steps = nil
	if final {
		summary.Steps = slices.Clone(r.run.Steps)
	}
	r.cost.StepRecords += len(steps) + len(summary.Steps)
	r.mu.Unlock()
	b := &Batch{Token: r.token, Run: &summary, Final: final, Steps: steps, Events: events, Values: values, Artifacts: artifacts}
	r.syncOutcomes()
	written, err := r.store.WriteRun(r.run.ID, b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
	if err == nil {
		// Its array holds the next flush's events: regrowing one for every
		// flush was 22 MB of a 10,000-step apply's allocations.
		clear(events)
		r.spare = events[:0]
		r.cost.Bytes += written
		if r.failed { // everything is in after all
			r.failed = false
			_ = r.store.MarkIncomplete(r.run.ID, false)
		}
		return
	}
	r.pending = append(events, r.pending...)
	r.artifacts = append(artifacts, r.artifacts...)
	for i := range dirty {
		r.dirty[i] = true
	}
	for step, v := range values {
		if _, newer := r.values[step]; !newer {
			r.values[step] = v
		}
	}
	if !r.failed {
		r.failed = true
		_ = r.store.MarkIncomplete(r.run.ID, true)
		if r.onError != nil {
			go r.onError(err)
		}
	}
}

// Finish writes everything still pending and returns the error of the
// last write, if it failed: the record is then incomplete (and marked
// so). The step outcomes kept beside it then stay, for a resume; with a
// complete record they are deleted.
func (r *Recorder) Finish() error {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcomes != nil {
		_ = r.outcomes.Close()
		if r.err == nil && !r.failed {
			_ = r.store.Backend.(OutcomeKeeper).DropOutcomes(r.run.ID)
		}
	}
	return r.err
}

// OutcomesKept tells whether every step outcome of the run was kept
// beside its record (outcomes.go): a resume can then rely on them.
func (r *Recorder) OutcomesKept() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes != nil && r.outcomesErr == nil
}

// RecordCost is what recording a run has cost so far: bytes written to
// the database and step records serialized. Both grow with the run's
// events, not faster (operation's TestApplyScalesLinearly).
type RecordCost struct {
	Bytes       int64
	StepRecords int
}

// Cost is what the recording has written so far.
func (r *Recorder) Cost() RecordCost {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cost
}

// newID sorts by time: 20261126T104900Z-3fa2.
func newID() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
