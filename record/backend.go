package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/engine"
)

// Backend is where runs are recorded: the local bbolt database beside the
// pipeline (Local) or, later, a shared store every runner reaches. Every
// implementation passes the contract suite (record/backendtest). What is
// the same on every backend (the recorder's batching and caps, which gate
// an answer is for, the queries built on a list) lives in this package,
// above the interface: a backend only stores, and makes the few atomic
// steps atomic (a lock, an answer counted against those before it, a
// saved plan's mark).
type Backend interface {
	// Where names the store for messages: a file, a namespace.
	Where() string
	// Init creates what recording needs and checks that the records can be
	// read (a damaged store stops an apply before anything runs).
	Init() error

	// CreateRun records a new run: its summary and the plan it applies.
	// token is the fencing token of the lock it runs under (Lease.Token).
	CreateRun(token uint64, run *Run, plan json.RawMessage) error
	// WriteRun appends a batch to a run's journal and replaces its summary,
	// all or nothing, and returns how many bytes it wrote. Batch.Token is
	// the writer's fencing token.
	WriteRun(id string, b *Batch) (written int64, err error)
	// MarkIncomplete says whether a write to the run failed: its record then
	// reads RecordFailed. It must work when WriteRun does not (a full disk).
	MarkIncomplete(id string, incomplete bool) error
	// ListRuns returns the runs f selects, newest first.
	ListRuns(f Filter) ([]*Run, error)
	// Show returns one run and the plan it applied, and hands each of its
	// events to onEvent (when not nil) in the order they were written.
	Show(id string, onEvent func(engine.Event) error) (*Run, json.RawMessage, error)
	// EventsSince hands onEvent the run's events after the one numbered
	// after (0: from the first), and returns the summary read with them and
	// the number of the last event handed: following a run is calling it
	// again with that number. A run no longer running has all its events in.
	EventsSince(id string, after uint64, onEvent func(engine.Event) error) (*Run, uint64, error)
	// Values are the kept values of a run's succeeded steps (a resume's).
	Values(id string) (map[string]cty.Value, error)
	// Artifacts lists a run's artifacts in the order they were attached;
	// ArtifactData is one's content (nil when not kept).
	Artifacts(id string) ([]Artifact, error)
	ArtifactData(id string, seq uint64) ([]byte, error)

	// Lock takes the lock of one environment ("" for a pipeline without
	// environments), waiting up to o.Timeout, or says who holds it
	// (*LockedError). A lock left by a process that died is stale: refused
	// until broken (ForceUnlock) or taken over (o.TakeOver).
	Lock(ctx context.Context, env string, o LockOptions) (Lease, error)
	// StaleLock finds the lock run left behind, refusing while its holder
	// is alive; ForceUnlock breaks it, recording who, when, from where and
	// why in the run's record (when it was recorded: inRecord) and in the
	// backend's own log of force-unlocks. by is who breaks it (operation.Who).
	StaleLock(run string) (*StaleLock, error)
	ForceUnlock(l *StaleLock, by, reason string) (inRecord bool, err error)
	// Unrecorded are the runs whose apply holds a lock and has not recorded
	// them yet (it plans, or asks), newest first.
	Unrecorded() []string

	// AppendAnswer records an answer to a run's gate. check, when not nil,
	// is called with the answers recorded before it, atomically with the
	// write: what it returns is why the answer is refused (Answer.Refused;
	// "" counts). Refused answers are recorded too.
	AppendAnswer(id string, a Answer, check func(prior []Answer) string) (Answer, error)
	// Answers returns every answer recorded for a run, oldest first.
	Answers(id string) ([]Answer, error)

	// MarkPlanApplied marks a saved plan (its content hash) as applied by
	// run, once: a second mark is refused with *PlanAppliedError, however
	// many processes try at once. Marks outlive the runs (Prune).
	MarkPlanApplied(hash, run string) error
	// PlanApplied is the run that applied a saved plan ("" if none is
	// marked), and since when the backend keeps marks: a plan made before
	// that may have been applied where this backend cannot tell.
	PlanApplied(hash string) (run string, since time.Time, err error)

	// Prune deletes runs beyond the retention policy, oldest first; it never
	// deletes an active run (Run.Active).
	Prune(r Retention) (*Pruned, error)
	// Compact gives the space of deleted runs back, holding every
	// environment's lock; it refuses while a run is active (ErrActive).
	Compact(ctx context.Context) (*Compacted, error)
}

// Lease is a held environment lock. The run it is taken for is decided
// with it, so even an apply killed while it plans is named.
type Lease interface {
	RunID() string
	// SetRun names another run as the holder.
	SetRun(id string) error
	Holder() Holder
	// Token is the fencing token: it grows each time the lock changes
	// hands, and every write of the run carries it (Batch.Token), so a
	// holder that lost its lock cannot write. 0 where the lock cannot be
	// lost while held (the local flock).
	Token() uint64
	// Held is nil while the run holds the lock as far as this process
	// knows (no request): an error once a shared lock was lost or its
	// deadline passed unrenewed. The run starts no further step then.
	Held() error
	Release()
	// Park keeps the lock for the run after its process ends (apply
	// -park): it names the run, parked at gate, is no longer renewed, and
	// expires ParkMargin after until (never, when until is zero). Only
	// apply -resume of the run takes it (TookOver), or force-unlock.
	Park(gate string, until time.Time) error
	// TookOver is the holder whose lock this one took over (a parked run,
	// or one whose process died, resumed), or nil.
	TookOver() *Holder
}

// ParkMargin is how long a parked run's lock outlives its gate's
// deadline: the run that resumes it then still finds it, and records that
// the gate timed out.
const ParkMargin = 15 * time.Minute

// Batch is what a recorder writes at once: one transaction of the local
// backend, one journal chunk of a shared one.
type Batch struct {
	Token uint64
	// Run is the summary; its Steps only in the final batch (Final), the
	// steps changed since the last batch in Steps meanwhile.
	Run       *Run
	Final     bool
	Steps     map[int]StepRecord // index in the run → record
	Events    []engine.Event
	Values    map[string][]byte // step → kept value (encodeValue)
	Artifacts []PendingArtifact
}

// PendingArtifact is an artifact with the content the record keeps (nil
// when not kept).
type PendingArtifact struct {
	Meta Artifact
	Data []byte
}

// Filter selects runs; an empty field selects any.
type Filter struct {
	Pipeline, Environment string
	Status                engine.Status
}

// Match tells whether f selects r.
func (f Filter) Match(r *Run) bool {
	return (f.Pipeline == "" || r.Pipeline == f.Pipeline) && (f.Environment == "" || r.Environment == f.Environment) &&
		(f.Status == "" || r.Status == f.Status)
}

// Answer is one answer to a gate as recorded: who (User), when (Time),
// from where (Host, PID, and the OS user and uid of that process) and,
// when refused, why (Refused). Authenticated: User is the identity the
// backend's service authenticated (a kubernetes vote), not what the
// process said. Answers recorded before Format 2 have only User, Host
// and PID.
type Answer struct {
	engine.GateAnswer
	Format        int    `json:"format,omitempty"`
	Host          string `json:"host,omitempty"`
	PID           int    `json:"pid,omitempty"`
	OSUser        string `json:"os_user,omitempty"`
	UID           string `json:"uid,omitempty"`
	Authenticated bool   `json:"authenticated,omitempty"`
	Refused       string `json:"refused,omitempty"`
}

// AnswerFormat is the version of the answers written now: 2 added the
// OS user, uid, groups and whether the user was authenticated.
const AnswerFormat = 2

// Identity is who runs pipectl as a backend's service authenticated it
// (Authenticator): a user and its groups.
type Identity struct {
	User   string
	Groups []string
}

// Authenticator is a backend that knows who its caller is from the
// service that keeps the records (the cluster), not from what the caller
// says: on such a backend that identity starts runs and answers gates.
type Authenticator interface {
	Identity() (Identity, error)
}

// Retention is how many runs a backend keeps.
type Retention struct {
	// KeepPerEnvironment is how many finished runs of each pipeline and
	// environment are kept (0: no limit).
	KeepPerEnvironment int
	// MaxBytes caps what the runs take (0: no cap): the oldest finished
	// runs go first, whatever their environment.
	MaxBytes int64
}

// Pruned is what Prune did.
type Pruned struct {
	Deleted []string // run ids, oldest first
	Kept    int
	// Bytes is what the kept runs take, as the backend counts it; measured
	// only under a size cap (it may read every page of the record).
	Bytes int64
}

// Compacted is what Compact did.
type Compacted struct {
	Before, After int64 // bytes
}

// ErrActive: compaction waits for no run to be active.
var ErrActive = errors.New("a run is active")

// PlanAppliedError refuses a second mark of a saved plan.
type PlanAppliedError struct {
	Hash, Run string
}

func (e *PlanAppliedError) Error() string {
	return fmt.Sprintf("the saved plan %s was already applied, by run %s", short(e.Hash), e.Run)
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
