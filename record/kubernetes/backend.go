package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// Backend is record.Backend in a Kubernetes namespace, for one pipeline
// (its scope: the Leases and the runs it lists). Several pipelines may
// share a namespace; `pipectl backend setup` makes one that holds
// nothing else.
type Backend struct {
	c     *Client
	scope string // the pipeline
	spool string // local directory for writes waiting for the API server

	mu    sync.Mutex
	runs  map[string]*runState // runs this process writes
	locks map[string]*Lock     // by run id: leases this process holds
	stale map[string]*coordv1.Lease
}

// runState is a run this process writes.
type runState struct {
	w            *Writer
	env          string
	last         *record.Run
	recordFailed string
	events       uint64
}

var _ record.Backend = (*Backend)(nil)

// New is the backend of one pipeline in the namespace c connects to.
// spool is where writes wait while the API server is away ("" for the
// user's cache directory).
func New(c *Client, pipeline, spool string) *Backend {
	return &Backend{c: c, scope: pipeline, spool: spool, runs: map[string]*runState{}, locks: map[string]*Lock{},
		stale: map[string]*coordv1.Lease{}}
}

// Client is the backend's connection.
func (b *Backend) Client() *Client { return b.c }

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// Where names the namespace.
func (b *Backend) Where() string {
	return fmt.Sprintf("namespace %s (kubernetes backend)", b.c.ns)
}

// infoName is the backend's own Secret: its format, and since when it
// keeps the marks of applied saved plans.
const infoName = "pipectl-backend"

// Init checks that the namespace can be read and written, and records
// since when this backend keeps marks.
func (b *Backend) Init() error {
	ctx, cancel := ctx()
	defer cancel()
	_, err := b.info(ctx, true)
	return err
}

func (b *Backend) info(ctx context.Context, create bool) (*corev1.Secret, error) {
	s, err := b.c.core.Secrets(b.c.ns).Get(ctx, infoName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && create {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: infoName,
			Labels:      map[string]string{labelManaged: managedBy, labelKind: "info"},
			Annotations: map[string]string{annFormat: strconv.Itoa(FormatVersion)}}, Type: "pipectl.dev/backend"}
		s, err = b.c.core.Secrets(b.c.ns).Create(ctx, s, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return b.info(ctx, false)
		}
	}
	if err != nil {
		return nil, b.explain(err)
	}
	return s, nil
}

// explain says what to do about the errors a user meets first.
func (b *Backend) explain(err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the kubernetes backend may not use namespace %s: %w; run `pipectl backend setup` as an admin, and bind the pipectl-runner Role to the runner's identity", b.c.ns, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the kubernetes backend's namespace %s: %w; create it with `pipectl backend setup`", b.c.ns, err)
	}
	return err
}

// CreateRun writes the run object and the plan (the journal's first
// entry), at once: readers of the run find its plan.
func (b *Backend) CreateRun(token uint64, run *record.Run, plan json.RawMessage) error {
	ctx, cancel := ctx()
	defer cancel()
	summary, err := json.Marshal(run)
	if err != nil {
		return err
	}
	m := b.meta(run)
	w, err := b.c.StartWriter(ctx, m, summary, b.fence(run.Environment, run.ID, token), b.spool)
	if err != nil {
		return b.explain(err)
	}
	w.Append(Entry{Kind: kindPlan, JSON: plan})
	if err := w.Flush(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	b.runs[run.ID] = &runState{w: w, env: run.Environment, last: run}
	b.mu.Unlock()
	return nil
}

func (b *Backend) meta(run *record.Run) RunMeta {
	return RunMeta{ID: run.ID, Scope: b.scope, Pipeline: run.Pipeline, Environment: run.Environment, Status: string(run.Status)}
}

// Journal entry kinds.
const (
	kindPlan         = "plan"
	kindEvent        = "event"
	kindStep         = "step"     // Key: its index in the run
	kindValue        = "value"    // Key: the step
	kindArtifact     = "artifact" // JSON: record.Artifact
	kindArtifactData = "artifact_data"
)

// WriteRun hands a batch to the run's writer, which writes at most once a
// second and keeps batches while the API server is away. A final batch is
// written before WriteRun returns. A run whose lock was lost (not renewed
// for its duration) is refused: the apply stops before its next step, and
// MarkIncomplete records why.
func (b *Backend) WriteRun(id string, batch *record.Batch) (int64, error) {
	st, err := b.state(id, batch.Token)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	lock := b.locks[id]
	b.mu.Unlock()
	if lock != nil {
		if err := lock.Held(); err != nil {
			if batch.Final { // what MarkIncomplete said is written before the process ends
				ctx, cancel := context.WithTimeout(context.Background(), finalWait)
				defer cancel()
				_ = st.w.Flush(ctx)
			}
			return 0, err
		}
	}
	entries, written, err := batchEntries(batch)
	if err != nil {
		return 0, err
	}
	run := *batch.Run
	b.mu.Lock()
	run.RecordFailed = firstNonEmpty(run.RecordFailed, st.recordFailed)
	st.last = &run
	st.events += uint64(len(batch.Events))
	b.mu.Unlock()
	summary, err := json.Marshal(&run)
	if err != nil {
		return 0, err
	}
	st.w.Append(entries...)
	st.w.SetSummary(string(run.Status), summary)
	if batch.Final {
		ctx, cancel := context.WithTimeout(context.Background(), finalWait)
		defer cancel()
		if err := st.w.Finish(ctx); err != nil {
			return 0, err
		}
		b.mu.Lock()
		delete(b.runs, id) // all written: a later write opens the run again
		b.mu.Unlock()
	}
	// A write that failed for now (the API server is away) waits in the
	// writer: only a writer that stopped (fenced off) fails the batch.
	return written + int64(len(summary)), st.w.Fatal()
}

// finalWait bounds how long the last write of a run waits for an API
// server that is away; what is left then stays in the spool directory.
const finalWait = 5 * time.Minute

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func batchEntries(batch *record.Batch) ([]Entry, int64, error) {
	var out []Entry
	var n int64
	add := func(e Entry) {
		out = append(out, e)
		n += int64(len(e.JSON) + len(e.Bytes))
	}
	for _, i := range slices.Sorted(maps.Keys(batch.Steps)) {
		j, err := json.Marshal(batch.Steps[i])
		if err != nil {
			return nil, 0, err
		}
		add(Entry{Kind: kindStep, Key: strconv.Itoa(i), JSON: j})
	}
	for _, step := range slices.Sorted(maps.Keys(batch.Values)) {
		add(Entry{Kind: kindValue, Key: step, Bytes: batch.Values[step]})
	}
	for _, a := range batch.Artifacts {
		j, err := json.Marshal(a.Meta)
		if err != nil {
			return nil, 0, err
		}
		add(Entry{Kind: kindArtifact, JSON: j})
		if a.Meta.Kept() {
			add(Entry{Kind: kindArtifactData, Key: strconv.FormatUint(a.Meta.Seq, 10), Bytes: a.Data})
		}
	}
	for _, e := range batch.Events {
		j, err := json.Marshal(e)
		if err != nil {
			return nil, 0, err
		}
		add(Entry{Kind: kindEvent, JSON: j})
	}
	return out, n, nil
}

// state is the run this process writes, or a writer over a run another
// process created (a resume's record written by this one).
func (b *Backend) state(id string, token uint64) (*runState, error) {
	b.mu.Lock()
	st := b.runs[id]
	b.mu.Unlock()
	if st != nil {
		return st, nil
	}
	ctx, cancel := ctx()
	defer cancel()
	o, err := b.c.getRun(ctx, id)
	if err != nil {
		return nil, err
	}
	var run record.Run
	if err := json.Unmarshal(o.Summary, &run); err != nil {
		return nil, fmt.Errorf("the run object of %s is damaged: %w", id, err)
	}
	w := b.c.resumeWriter(b.meta(&run), o, b.fence(run.Environment, id, token), b.spool)
	st = &runState{w: w, env: run.Environment, last: &run}
	b.mu.Lock()
	b.runs[id] = st
	b.mu.Unlock()
	return st, nil
}

// fence is the check before each write of a run: the environment's Lease
// still names it, at the transition its token says (token 0: no lock).
func (b *Backend) fence(env, run string, token uint64) Fence {
	return &tokenFence{c: b.c, lease: LockName(b.scope, env), run: run, token: token}
}

type tokenFence struct {
	c     *Client
	lease string
	run   string
	token uint64
}

func (f *tokenFence) Token() uint64 { return f.token }

func (f *tokenFence) Check(ctx context.Context) error {
	if f.token == 0 {
		return nil
	}
	l, err := f.c.coord.Leases(f.c.ns).Get(ctx, f.lease, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if holderOf(l).Run != f.run || uint64(transitions(l))+1 != f.token {
		return fmt.Errorf("%w: the Lease %s/%s names %s at transition %d; run %s took it at transition %d",
			ErrLost, f.c.ns, f.lease, orNobody(holderOf(l)), transitions(l), f.run, f.token-1)
	}
	return nil
}

// MarkIncomplete says in the run's summary that a write failed: the lock
// was lost, or a write was refused. It is written as the API server lets.
func (b *Backend) MarkIncomplete(id string, incomplete bool) error {
	b.mu.Lock()
	st, lock := b.runs[id], b.locks[id]
	if st == nil {
		b.mu.Unlock()
		return fmt.Errorf("run %s is not written by this process", id)
	}
	st.recordFailed = ""
	if incomplete {
		st.recordFailed = "a write to the record failed: what happened after it is not recorded"
		if lock != nil && lock.Held() != nil {
			st.recordFailed = "the run stopped before its next step: " + lock.Held().Error()
		}
	}
	run := *st.last
	run.RecordFailed = st.recordFailed
	b.mu.Unlock()
	summary, err := json.Marshal(&run)
	if err != nil {
		return err
	}
	st.w.SetSummary(string(run.Status), summary)
	return nil
}

// ListRuns returns the runs of this backend's pipeline that f selects,
// newest first.
func (b *Backend) ListRuns(f record.Filter) ([]*record.Run, error) {
	return b.list(f, false, func(ctx context.Context, o *runObject) (*record.Run, error) {
		return b.decode(ctx, o, nil)
	})
}

// list reads the run objects f selects (their heads when byHead) with
// read, newest first.
func (b *Backend) list(f record.Filter, byHead bool, read func(context.Context, *runObject) (*record.Run, error)) ([]*record.Run, error) {
	ctx, cancel := ctx()
	defer cancel()
	objs, err := b.c.listRuns(ctx, b.scope, f.Pipeline, f.Environment, "", byHead)
	if err != nil {
		return nil, b.explain(err)
	}
	var out []*record.Run
	for _, o := range objs {
		r, err := read(ctx, o)
		if err != nil {
			return nil, err
		}
		if f.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(x, y *record.Run) int { return y.Started.Compare(x.Started) })
	return out, nil
}

// decode reads a run's summary; a running run without its steps gets them
// from the journal (fn, when not nil, sees every entry meanwhile), and a
// run whose Lease no longer names it, or has expired, is interrupted.
func (b *Backend) decode(ctx context.Context, o *runObject, fn func(Entry) error) (*record.Run, error) {
	var r record.Run
	if err := json.Unmarshal(o.Summary, &r); err != nil {
		return nil, fmt.Errorf("the run object %s is damaged: %w", o.secret.Name, err)
	}
	needSteps := len(r.Steps) == 0 && r.Status == record.StatusRunning
	if fn != nil || needSteps {
		steps := map[int]record.StepRecord{}
		err := b.c.readJournal(ctx, r.ID, o.Marker, func(e Entry) error {
			if e.Kind == kindStep && needSteps {
				var s record.StepRecord
				if err := json.Unmarshal(e.JSON, &s); err != nil {
					return err
				}
				i, _ := strconv.Atoi(e.Key)
				steps[i] = s
			}
			if fn == nil {
				return nil
			}
			err := fn(e)
			if errors.Is(err, errStop) && needSteps {
				fn = nil // fn has what it wanted; the steps are still to read
				return nil
			}
			return err
		})
		if err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
		for _, i := range slices.Sorted(maps.Keys(steps)) {
			r.Steps = append(r.Steps, steps[i])
		}
	}
	b.settle(ctx, &r)
	return &r, nil
}

// settle makes a run recorded as running whose Lease no longer names it,
// or has expired, interrupted, with the steps it had running.
func (b *Backend) settle(ctx context.Context, r *record.Run) {
	if r.Status != record.StatusRunning || b.stillRunning(ctx, r) {
		return
	}
	r.Status = record.StatusInterrupted
	for i := range r.Steps {
		if r.Steps[i].Status == record.StatusRunning {
			r.Steps[i].Status = record.StatusInterrupted
		}
	}
}

// errStop ends a journal read early.
var errStop = errors.New("stop")

// stillRunning: the environment's Lease names the run and this process
// has not seen it expire. (A process that has watched it for less than
// its duration cannot tell: it reads as running.)
func (b *Backend) stillRunning(ctx context.Context, r *record.Run) bool {
	l, err := b.c.coord.Leases(b.c.ns).Get(ctx, LockName(b.scope, r.Environment), metav1.GetOptions{})
	if err != nil {
		return !apierrors.IsNotFound(err) // unknown: as it was recorded
	}
	return holderOf(l).Run == r.ID && !b.c.expired(l)
}

// Show returns a run and its plan, and hands its events to onEvent.
func (b *Backend) Show(id string, onEvent func(engine.Event) error) (*record.Run, json.RawMessage, error) {
	b.flush(id)
	ctx, cancel := ctx()
	defer cancel()
	o, err := b.c.getRun(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var plan json.RawMessage
	r, err := b.decode(ctx, o, func(e Entry) error {
		switch {
		case e.Kind == kindPlan:
			plan = e.JSON
			if onEvent == nil {
				return errStop
			}
		case e.Kind == kindEvent && onEvent != nil:
			var ev engine.Event
			if err := json.Unmarshal(e.JSON, &ev); err != nil {
				return err
			}
			return onEvent(ev)
		}
		return nil
	})
	return r, plan, err
}

// flush writes what this process has pending for a run, so that its own
// reads see its writes.
func (b *Backend) flush(id string) {
	b.mu.Lock()
	st := b.runs[id]
	b.mu.Unlock()
	if st != nil {
		ctx, cancel := ctx()
		defer cancel()
		_ = st.w.Flush(ctx)
	}
}

// EventsSince hands on the run's events after the one numbered after.
func (b *Backend) EventsSince(id string, after uint64, onEvent func(engine.Event) error) (*record.Run, uint64, error) {
	var n uint64
	r, _, err := b.Show(id, func(e engine.Event) error {
		n++
		if n <= after {
			return nil
		}
		return onEvent(e)
	})
	return r, n, err
}

// Values are the kept values of a run's succeeded steps.
func (b *Backend) Values(id string) (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	err := b.entries(id, func(e Entry) error {
		if e.Kind != kindValue {
			return nil
		}
		v, err := decodeValue(e.Bytes)
		if err != nil {
			return fmt.Errorf("the kept value of step %s is damaged: %w", e.Key, err)
		}
		out[e.Key] = v
		return nil
	})
	return out, err
}

// decodeValue reads a value as record encodes it (a type and a value).
func decodeValue(b []byte) (cty.Value, error) {
	var sv struct {
		Type  json.RawMessage `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &sv); err != nil {
		return cty.NilVal, err
	}
	var ty cty.Type
	if err := ty.UnmarshalJSON(sv.Type); err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(sv.Value, ty)
}

// entries hands every committed journal entry of a run to fn.
func (b *Backend) entries(id string, fn func(Entry) error) error {
	b.flush(id)
	ctx, cancel := ctx()
	defer cancel()
	_, err := b.c.ReadRun(ctx, id, fn)
	return err
}

// Artifacts lists a run's artifacts in the order they were attached.
func (b *Backend) Artifacts(id string) ([]record.Artifact, error) {
	var out []record.Artifact
	err := b.entries(id, func(e Entry) error {
		if e.Kind != kindArtifact {
			return nil
		}
		var a record.Artifact
		if err := json.Unmarshal(e.JSON, &a); err != nil {
			return fmt.Errorf("an artifact record of run %s is damaged: %w", id, err)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// ArtifactData is one artifact's content (nil when not kept).
func (b *Backend) ArtifactData(id string, seq uint64) ([]byte, error) {
	var out []byte
	key := strconv.FormatUint(seq, 10)
	err := b.entries(id, func(e Entry) error {
		if e.Kind == kindArtifactData && e.Key == key {
			out = e.Bytes
		}
		return nil
	})
	return out, err
}

// Lock takes the Lease of an environment of this backend's pipeline.
func (b *Backend) Lock(ctx context.Context, env string, o record.LockOptions) (record.Lease, error) {
	l, err := b.c.AcquireLock(ctx, b.scope, env, o)
	if err != nil {
		return nil, b.explainLock(err)
	}
	b.mu.Lock()
	b.locks[l.RunID()] = l
	b.mu.Unlock()
	if l.TakenOver != nil { // never silent: in the old run's record and the log
		why := fmt.Sprintf("taken over by run %s (apply -resume) after its Lease went unrenewed for %s", l.RunID(), b.c.leaseDuration)
		if l.TakenOver.Parked() {
			why = fmt.Sprintf("taken over by run %s (apply -resume) of the run parked at %s", l.RunID(), l.TakenOver.ParkedAt)
		}
		u := record.ForceUnlock{Holder: *l.TakenOver, By: o.User + "@" + hostname(), PID: os.Getpid(), At: time.Now().UTC(), Reason: why,
			TakenOverBy: l.RunID()}
		if err := b.logUnlock(ctx, u); err != nil {
			return nil, b.giveBack(l, fmt.Errorf("recording the takeover of the lock: %w", err))
		}
		if _, err := b.recordUnlock(ctx, u); err != nil {
			return nil, b.giveBack(l, fmt.Errorf("recording the takeover in run %s: %w", u.Holder.Run, err))
		}
	}
	return l, nil
}

// giveBack undoes a takeover that could not be recorded: the Lease goes
// back to the run it was taken from (a parked run keeps its lock), not
// freed for any apply. err is why.
func (b *Backend) giveBack(l *Lock, err error) error {
	b.mu.Lock()
	delete(b.locks, l.RunID())
	b.mu.Unlock()
	if gerr := l.giveBack(); gerr != nil {
		return fmt.Errorf("%w; and %v: it names run %s, which nothing renews (pipectl force-unlock %s frees it)", err, gerr, l.RunID(), l.RunID())
	}
	return fmt.Errorf("%w (the lock stays with run %s)", err, l.TakenOver.Run)
}

func (b *Backend) explainLock(err error) error {
	var locked *record.LockedError
	if errors.As(err, &locked) {
		return err
	}
	return b.explain(err)
}

// StaleLock finds the Lease run holds or left. A Lease this process has
// not seen unchanged for its duration is watched until it has (or
// changes: its holder is alive).
func (b *Backend) StaleLock(run string) (*record.StaleLock, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*b.c.leaseDuration+30*time.Second)
	defer cancel()
	b.mu.Lock()
	mine := b.locks[run]
	b.mu.Unlock()
	if mine != nil && mine.stop != nil {
		return nil, fmt.Errorf("run %s holds the lock of %s and is alive (this process renews it): %s", run, what(mine.holder.Environment), mine.holder)
	}
	leases, err := b.c.coord.Leases(b.c.ns).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=lock," + labelPipeline + "=" + labelValue(b.scope)})
	if err != nil {
		return nil, b.explain(err)
	}
	var others []string
	for i := range leases.Items {
		l := &leases.Items[i]
		h := holderOf(l)
		if h.Run == "" {
			continue
		}
		if h.Run != run {
			others = append(others, h.Run)
			continue
		}
		for !h.Parked() && !b.c.expired(l) { // a parked Lease has no process that renews it
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(b.c.pollEvery()):
			}
			fresh, err := b.c.coord.Leases(b.c.ns).Get(ctx, l.Name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			if fresh.ResourceVersion != l.ResourceVersion {
				return nil, fmt.Errorf("run %s holds the lock of %s and renews it: it is alive (%s). "+
					"Stop it (Ctrl-C where it runs) rather than breaking its lock", run, what(h.Environment), h)
			}
			l = fresh
		}
		b.mu.Lock()
		b.stale[run] = l
		b.mu.Unlock()
		return &record.StaleLock{Environment: h.Environment, Holder: h}, nil
	}
	if len(others) == 0 {
		return nil, fmt.Errorf("no lock in %s names run %s: nothing is locked there", b.Where(), run)
	}
	slices.Sort(others)
	return nil, fmt.Errorf("no lock in %s names run %s; locks name: %v", b.Where(), run, others)
}

// ForceUnlock frees the Lease StaleLock found, if it is unchanged since
// (a CAS), one transition further so the old holder's token is void, and
// records who, when, from where and why: on the Lease, in the backend's
// log of force-unlocks, and in the run's record.
// by is who breaks it (operation.Who), recorded as by@host.
func (b *Backend) ForceUnlock(sl *record.StaleLock, by, reason string) (bool, error) {
	if reason == "" {
		return false, fmt.Errorf("force-unlock needs a reason: it is recorded")
	}
	b.mu.Lock()
	l := b.stale[sl.Holder.Run]
	b.mu.Unlock()
	if l == nil {
		return false, fmt.Errorf("run %s's lock was not found stale by this process: call StaleLock first", sl.Holder.Run)
	}
	ctx, cancel := ctx()
	defer cancel()
	u := record.ForceUnlock{Holder: sl.Holder, By: by + "@" + hostname(), PID: os.Getpid(), At: time.Now().UTC(), Reason: reason}
	l = l.DeepCopy()
	l.Spec.HolderIdentity = nil
	t := transitions(l) + 1
	l.Spec.LeaseTransitions = &t
	l.Annotations[annUnlockedBy] = u.By
	l.Annotations[annUnlockWhy] = reason
	if _, err := b.c.coord.Leases(b.c.ns).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return false, fmt.Errorf("the lock of %s changed meanwhile: look again", what(sl.Environment))
		}
		return false, err
	}
	if err := b.logUnlock(ctx, u); err != nil {
		return false, fmt.Errorf("recording the force-unlock: %w", err)
	}
	return b.recordUnlock(ctx, u)
}

// UnlockLog names the backend's log of force-unlocks, for messages.
func (b *Backend) UnlockLog() string {
	return fmt.Sprintf("the force-unlock-* Secrets of namespace %s", b.c.ns)
}

// logUnlock keeps the force-unlock as a Secret of its own: the backend's
// log, which outlives the runs.
func (b *Backend) logUnlock(ctx context.Context, u record.ForceUnlock) error {
	j, err := json.Marshal(u)
	if err != nil {
		return err
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{GenerateName: "force-unlock-",
		Labels: map[string]string{labelManaged: managedBy, labelKind: "force-unlock", labelPipeline: labelValue(b.scope),
			labelRun: labelValue(u.Holder.Run)}}, Type: "pipectl.dev/force-unlock", Data: map[string][]byte{"force-unlock.json": j}}
	_, err = b.c.core.Secrets(b.c.ns).Create(ctx, s, metav1.CreateOptions{})
	return err
}

// recordUnlock writes the force-unlock into the run's summary (optimistic
// concurrency on the run object; its journal is left as it is).
func (b *Backend) recordUnlock(ctx context.Context, u record.ForceUnlock) (bool, error) {
	for {
		o, err := b.c.getRun(ctx, u.Holder.Run)
		if err != nil {
			return false, nil // never recorded: killed while it planned
		}
		var r record.Run
		if err := json.Unmarshal(o.Summary, &r); err != nil {
			return false, err
		}
		r.ForceUnlocked = &u
		summary, err := json.Marshal(&r)
		if err != nil {
			return false, err
		}
		_, err = b.c.updateRun(ctx, o, "", summary, o.Marker)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return err == nil, err
	}
}

// Unrecorded are the runs whose apply holds a Lease of this pipeline and
// has no run object yet (it plans, or asks), newest first.
func (b *Backend) Unrecorded() []string {
	ctx, cancel := ctx()
	defer cancel()
	leases, err := b.c.coord.Leases(b.c.ns).List(ctx, metav1.ListOptions{LabelSelector: labelKind + "=lock," + labelPipeline + "=" + labelValue(b.scope)})
	if err != nil {
		return nil
	}
	var out []string
	for i := range leases.Items {
		if h := holderOf(&leases.Items[i]); h.Run != "" && !b.c.recorded(ctx, h.Run) {
			out = append(out, h.Run)
		}
	}
	slices.Sort(out)
	slices.Reverse(out) // ids sort by time
	return out
}
