package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// Lock is an apply's hold on one environment of a pipeline: an exclusive
// flock on .pipectl/locks/<environment>.lock, which names who holds it
// (Holder). The kernel releases the flock when the process ends, however
// it ends; a process that ends without Release leaves its holder written
// in the file, which is how the next apply knows the lock is stale.
type Lock struct {
	f        *os.File
	path     string
	holder   Holder
	tookOver *Holder
}

// Holder is who holds (or held) a lock, as written in its file.
type Holder = v1.LockHolder

// LockOptions say how to take a lock.
type LockOptions struct {
	// Timeout is how long to wait for another apply to finish; 0 does not wait.
	Timeout time.Duration
	// OnWait is told once, when the lock is held and the apply starts waiting.
	OnWait func(Holder)
	// TakeOver is a run whose stale lock may be taken: `apply -resume RUN`
	// of the very run that was killed recovers it explicitly.
	TakeOver string
	// User is who takes the lock, as the run records who started it: the
	// caller decides identity (operation.Who), the lock only writes it.
	User string
}

// ErrLocked is the cause of every LockedError.
var ErrLocked = errors.New("locked")

// LockedError says who holds an environment, or left it locked.
type LockedError struct {
	What   string // "environment \"dev\" of this pipeline"
	Holder Holder
	Waited time.Duration
	// Stale: the holder's process is gone without releasing the lock
	// (killed): nobody holds the flock, the holder is still written.
	Stale bool
	// Unrecorded: the stale holder was killed before it recorded its run
	// (while it planned or asked): none of its steps ran.
	Unrecorded bool
}

func (e *LockedError) Error() string {
	if h := e.Holder; h.Parked() {
		return e.parked()
	}
	if e.Stale && e.Unrecorded {
		return fmt.Sprintf("%s is locked by %s, whose process ended without releasing it (killed?): the lock is stale. "+
			"It was killed before its run was recorded (while planning or asking for confirmation), so none of its steps ran: "+
			"break the lock with pipectl force-unlock %s", e.What, e.Holder, e.Holder.Run)
	}
	if e.Stale {
		return fmt.Sprintf("%s is locked by %s, whose process ended without releasing it (killed?): the lock is stale. "+
			"Its run may have stopped half-way: check it (pipectl runs show %s), then break the lock with pipectl force-unlock %s, "+
			"or resume that run (pipectl apply -resume %s)", e.What, e.Holder, e.Holder.Run, e.Holder.Run, e.Holder.Run)
	}
	waited := "wait for it to finish, or give -lock-timeout to wait (e.g. -lock-timeout 10m)"
	if e.Waited > 0 {
		waited = fmt.Sprintf("waited %s (-lock-timeout) for it to finish", e.Waited)
	}
	gone := ""
	if e.Holder.Host == hostname() && e.Holder.PID > 0 && !processAlive(e.Holder.PID) {
		gone = fmt.Sprintf(" (pid %d is gone, yet the lock is held: a process that inherited it still runs)", e.Holder.PID)
	}
	return fmt.Sprintf("another pipectl is applying %s: %s%s; %s", e.What, e.Holder, gone, waited)
}

// parked says that a parked run holds the lock, and how to end that.
func (e *LockedError) parked() string {
	h := e.Holder
	if e.Stale {
		return fmt.Sprintf("%s is locked by %s: its gate timed out at %s without the approval it waited for, and its lock expired. "+
			"Resume it to end it (pipectl apply -resume %s: it fails at the gate and frees the lock), or break the lock with pipectl force-unlock %s",
			e.What, h, h.ParkedUntil.Local().Format("2006-01-02 15:04:05 MST"), h.Run, h.Run)
	}
	cmds := v1.CommandsFor(h.Run)
	return fmt.Sprintf("%s is locked by %s: the run waits for approval there, with no process. "+
		"Approve it (%s) and resume it on any runner (%s); "+
		"or reject it (%s), then %s ends it and frees the lock",
		e.What, h, cmds.Approve, cmds.Resume, cmds.Reject, cmds.Resume)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// ParkExpired tells whether a parked lock expired: ParkMargin after its
// gate's deadline.
func ParkExpired(h Holder, now time.Time) bool {
	return h.Parked() && !h.ParkedUntil.IsZero() && now.After(h.ParkedUntil.Add(ParkMargin))
}

func lockPath(dir, env string) string {
	name := "pipeline.lock" // a pipeline without environments
	if env != "" {
		name = "env-" + env + ".lock"
	}
	return filepath.Join(dir, "locks", name)
}

func lockedWhat(env string) string {
	if env == "" {
		return "this pipeline"
	}
	return fmt.Sprintf("environment %q of this pipeline", env)
}

// lockPoll is how often a waiting apply tries the lock again.
const lockPoll = 100 * time.Millisecond

// Lock takes the lock of one environment of the pipeline, waiting up to
// o.Timeout for its holder to finish. Applies of two environments run side
// by side. A stale lock is never taken silently: it is an error
// (LockedError.Stale) until force-unlocked, or taken over by o.TakeOver.
func (s *Local) Lock(ctx context.Context, env string, o LockOptions) (Lease, error) {
	l, err := s.lock(ctx, env, o)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// recordTakeover notes in the parked run's record and the log that l
// takes its lock over: never silent, as on a cluster. It is written
// before l names itself in the lock file, so that a takeover it cannot
// record leaves the lock to the parked run.
func (s *Local) recordTakeover(l *Lock, by string) error {
	h := l.tookOver
	u := ForceUnlock{Holder: *h, By: by + "@" + hostname(), PID: os.Getpid(), At: time.Now().UTC(),
		Reason: fmt.Sprintf("taken over by run %s (apply -resume) of the run parked at %s", l.RunID(), h.ParkedAt), TakenOverBy: l.RunID()}
	if err := appendUnlockLog(filepath.Dir(l.path), u); err != nil {
		return fmt.Errorf("recording the takeover of the lock: %w (the lock stays with run %s)", err, h.Run)
	}
	if _, err := s.recordUnlock(u); err != nil {
		return fmt.Errorf("recording the takeover in run %s: %w (the lock stays with it)", h.Run, err)
	}
	return nil
}

func (s *Local) lock(ctx context.Context, env string, o LockOptions) (*Lock, error) {
	// The name becomes a file name, and comes from -env or a saved plan
	// before the pipeline is read: "../x" must not lock a file elsewhere.
	if env != "" && !hclsyntax.ValidIdentifier(env) {
		return nil, fmt.Errorf("%q is not an environment name: an environment is named like environment \"prod\" {} (letters, digits, _ and -)", env)
	}
	path := lockPath(s.dir, env)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := waitForLock(ctx, f, path, env, o); err != nil {
		f.Close()
		return nil, err
	}
	// A holder without a pid is a lock file of an older pipectl, which
	// left the run id behind even when it ended well: not a sign of death.
	left := readHolder(path)
	if left.Run != "" && left.PID != 0 && left.Run != o.TakeOver {
		f.Close() // releases the flock: the stale (or parked) holder stays written
		if left.Parked() {
			return nil, &LockedError{What: lockedWhat(env), Holder: left, Stale: ParkExpired(left, time.Now())}
		}
		recorded, err := s.recorded(left.Run)
		return nil, &LockedError{What: lockedWhat(env), Holder: left, Stale: true, Unrecorded: err == nil && !recorded}
	}
	l := &Lock{f: f, path: path, holder: Holder{Run: newID(), User: o.User, Host: hostname(), PID: os.Getpid(),
		Started: time.Now().UTC(), Environment: env}}
	if left.Run != "" && left.PID != 0 { // o.TakeOver's: a parked run, or a killed one, resumed
		l.tookOver = &left
		if left.Parked() {
			if err := s.recordTakeover(l, o.User); err != nil {
				f.Close() // the parked holder stays written
				return nil, err
			}
		}
	}
	if err := l.write(); err != nil {
		if l.tookOver != nil { // the old holder back, as the takeover had never been
			l.holder = *l.tookOver
			if l.write() == nil {
				l.Abandon()
				return nil, fmt.Errorf("writing the lock %s: %w (it stays with run %s)", path, err, left.Run)
			}
		}
		l.Release()
		return nil, fmt.Errorf("writing the lock %s: %w", path, err)
	}
	return l, nil
}

// waitForLock takes the flock of f, waiting up to o.Timeout for its
// holder to release it; ctx stops the wait.
func waitForLock(ctx context.Context, f *os.File, path, env string, o LockOptions) error {
	start, told := time.Now(), false
	for {
		err := tryLock(f)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errLocked) {
			return fmt.Errorf("locking %s: %w", path, err)
		}
		holder := readHolder(path)
		if time.Since(start) >= o.Timeout {
			return &LockedError{What: lockedWhat(env), Holder: holder, Waited: o.Timeout}
		}
		if !told && o.OnWait != nil {
			o.OnWait(holder)
			told = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting for the lock of %s, held by %s: %w", lockedWhat(env), holder, ctx.Err())
		case <-time.After(min(lockPoll, o.Timeout-time.Since(start))):
		}
	}
}

// RunID is the id of the run this lock is taken for (see Holder.Run).
func (l *Lock) RunID() string { return l.holder.Run }

// Holder is who holds the lock: this process, for the run RunID.
func (l *Lock) Holder() Holder { return l.holder }

// Token is 0: a flock cannot be lost while its process lives.
func (l *Lock) Token() uint64 { return 0 }

// Held is always nil: a flock cannot be lost while its process lives.
func (l *Lock) Held() error { return nil }

// SetRun names another run as the holder, for readers.
func (l *Lock) SetRun(id string) error {
	l.holder.Run = id
	return l.write()
}

// write puts the holder in the file: written over the old content, then
// cut to length, so a reader never sees it empty while it is held.
func (l *Lock) write() error {
	b, err := json.Marshal(l.holder)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return err
	}
	return l.f.Truncate(int64(len(b)))
}

// TookOver is the holder whose lock this one took over, or nil.
func (l *Lock) TookOver() *Holder { return l.tookOver }

// Park leaves the lock to the parked run: the holder, marked parked at
// gate until its deadline, stays written while the flock is released, so
// the next apply finds it (and only apply -resume of the run takes it).
// The pid stays too: an older pipectl, which knows no parked lock, sees a
// stale one and refuses it.
func (l *Lock) Park(gate string, until time.Time) error {
	l.holder.ParkedAt, l.holder.ParkedUntil = gate, until.UTC()
	if until.IsZero() {
		l.holder.ParkedUntil = time.Time{}
	}
	if err := l.write(); err != nil {
		return fmt.Errorf("parking the lock %s: %w", l.path, err)
	}
	l.Abandon()
	return nil
}

// Release frees the environment: the holder is erased first, while the
// flock is still held, so that only a process that ended without Release
// leaves a stale lock behind.
func (l *Lock) Release() {
	if l != nil {
		_ = l.f.Truncate(0)
		l.f.Close() // closing the file releases the flock
	}
}

// Abandon ends the hold as a killed process does: the flock is released,
// the holder stays written, and the lock reads as stale. The contract
// suite (backendtest) stands for a process killed with it.
func (l *Lock) Abandon() {
	if l != nil {
		l.f.Close()
	}
}

// readHolder reads who holds (or held) a lock. The first lock files held
// only a run id, on one line.
func readHolder(path string) Holder {
	b, _ := os.ReadFile(path)
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil {
		h = Holder{Run: strings.TrimSpace(string(b))}
	}
	return h
}

// held tells whether someone holds the lock file at path.
func held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return isLocked(f)
}

// stillRunning: the run's environment is locked, by this run.
func (s *Local) stillRunning(r *Run) bool {
	path := lockPath(s.dir, r.Environment)
	return readHolder(path).Run == r.ID && held(path)
}

// recordFailed tells whether a recorder marked the run's record as
// incomplete (see Recorder.markFailed).
func (s *Local) recordFailed(id string) bool {
	_, err := os.Stat(filepath.Join(s.dir, "incomplete", id))
	return err == nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
