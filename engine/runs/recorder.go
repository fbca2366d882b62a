package runs

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	bolt "go.etcd.io/bbolt"

	"github.com/pipectl/pipectl/engine"
)

// flushEvery bounds what a crash can lose: events reach the disk in one
// transaction (one fsync) at most this long after they happen, rather than
// one fsync per event, which would cost more than the steps themselves.
const flushEvery = 200 * time.Millisecond

// Recorder is an engine.EventSink that records a run as it happens.
type Recorder struct {
	store    *Store
	run      *Run
	steps    map[string]int // step+instance → index in run.Steps
	redactor *engine.Redactor

	mu      sync.Mutex
	pending []engine.Event
	values  map[string][]byte // step → typed value, for a resume
	seq     uint64
	err     error
	stop    chan struct{}
	done    chan struct{}
}

// Start records a new run of a plan and returns its recorder; call Finish.
// The redactor decides which step values may be kept for a resume.
func (s *Store) Start(plan *engine.Plan, redactor *engine.Redactor) (*Recorder, error) {
	r := &Recorder{
		store: s,
		run: &Run{ID: newID(), Pipeline: plan.Pipeline, Environment: plan.Environment,
			Started: time.Now().UTC(), Status: StatusRunning},
		steps:    map[string]int{},
		redactor: redactor,
		values:   map[string][]byte{},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(runsBucket).CreateBucket([]byte(r.run.ID))
		if err != nil {
			return err
		}
		if _, err := b.CreateBucket(eventsBucket); err != nil {
			return err
		}
		if _, err := b.CreateBucket(valuesBucket); err != nil {
			return err
		}
		if err := b.Put(planKey, planJSON); err != nil {
			return err
		}
		return putMeta(b, r.run)
	})
	if err != nil {
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

// ID is the run's identifier.
func (r *Recorder) ID() string { return r.run.ID }

// Event records one event (engine.EventSink).
func (r *Recorder) Event(e engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, e)
	r.summarize(e)
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
	r.mu.Unlock()
}

// summarize keeps the per-step summary and the run's status current.
func (r *Recorder) summarize(e engine.Event) {
	switch e.Type {
	case engine.StepStarted, engine.StepFinished:
	case engine.RunFinished:
		if e.Status != "" {
			r.run.Status, r.run.Finished, r.run.Outputs = e.Status, e.Time.UTC(), e.Outputs
		}
		return
	default:
		return
	}
	key := e.Step + "\x00" + e.Instance
	i, ok := r.steps[key]
	if !ok {
		i = len(r.run.Steps)
		r.steps[key] = i
		r.run.Steps = append(r.run.Steps, StepRecord{Step: e.Step, Instance: e.Instance, Phase: e.Phase,
			Action: e.Action, Status: StatusRunning})
	}
	s := &r.run.Steps[i]
	if e.Type == engine.StepStarted {
		if s.Started.IsZero() {
			s.Started = e.Time.UTC()
		}
		s.Attempts = e.Attempt
		return
	}
	s.Status, s.Finished, s.Message, s.Outputs = e.Status, e.Time.UTC(), e.Message, e.Outputs
	if e.Attempt > 0 {
		s.Attempts = e.Attempt
	}
}

func (r *Recorder) flushLoop() {
	defer close(r.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.flush()
		case <-r.stop:
			r.flush()
			return
		}
	}
}

// flush writes the pending events and the current summary in one transaction.
func (r *Recorder) flush() {
	r.mu.Lock()
	events, values := r.pending, r.values
	if len(events) == 0 && len(values) == 0 {
		r.mu.Unlock()
		return // nothing happened: no write, no fsync, during a long step
	}
	r.pending, r.values = nil, map[string][]byte{}
	meta, _ := json.Marshal(r.run)
	r.mu.Unlock()
	err := r.store.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(r.run.ID))
		vb := b.Bucket(valuesBucket)
		for step, v := range values {
			if err := vb.Put([]byte(step), v); err != nil {
				return err
			}
		}
		ev := b.Bucket(eventsBucket)
		for _, e := range events {
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			r.seq++
			if err := ev.Put(seqKey(r.seq), v); err != nil {
				return err
			}
		}
		return b.Put(metaKey, meta)
	})
	if err != nil {
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
	}
}

// Finish writes everything still pending and returns the first error the
// recording met, if any.
func (r *Recorder) Finish() error {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func putMeta(b *bolt.Bucket, run *Run) error {
	v, err := json.Marshal(run)
	if err != nil {
		return err
	}
	return b.Put(metaKey, v)
}

// newID sorts by time: 20261126T104900Z-3fa2.
func newID() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
