package operation

import (
	"errors"
	"fmt"

	"github.com/pipectl/pipectl/record"
	"github.com/pipectl/pipectl/record/kubernetes"
)

// ForceUnlock breaks the lock a killed apply left on its environment. It
// refuses while the run's process still holds the lock, and records the
// break, as who runs pipectl (the backend's authenticated identity, else
// Who()), in the run's record and in the force-unlock log.
type ForceUnlock struct {
	Dir string
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// ID is the run the stale lock names.
	ID string
	// Confirm, unless nil, is asked before the lock is broken; false
	// refuses (ErrNotUnlocked), an error too.
	Confirm func(what string, holder record.Holder) (bool, error)
	// Reason is why the lock is broken, recorded with the break.
	Reason string
}

// ErrNotUnlocked: the user did not confirm the force-unlock.
var ErrNotUnlocked = errors.New("not unlocked")

// Unlocked is the lock broken: what it locked, the run that left it, and
// whether the break is in that run's record (a run killed while it
// planned was never recorded).
type Unlocked struct {
	What, Run string
	InRecord  bool
	// Log is where the backend logs force-unlocks.
	Log string
}

// Run breaks the lock.
func (o *ForceUnlock) Run() (*Unlocked, error) {
	dir := PipelineDir(o.Dir)
	store, stale, err := findStaleLock(dir, o.ID, o.Reason, o.Backend)
	if err != nil {
		return nil, err
	}
	what := EnvironmentName(stale.Environment)
	if o.Confirm != nil {
		ok, err := o.Confirm(what, stale.Holder)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotUnlocked
		}
	}
	// Who breaks it as the backend knows them: on a cluster its
	// authenticated identity, as an apply's lock and a vote name them,
	// not what PIPECTL_USER says.
	who, _, err := identity(store)
	if err != nil {
		return nil, err
	}
	inRecord, err := store.ForceUnlock(stale, who.User, o.Reason)
	if err != nil {
		return nil, err
	}
	return &Unlocked{What: what, Run: stale.Holder.Run, InRecord: inRecord, Log: unlockLog(store)}, nil
}

// EnvironmentName is how messages name the environment a lock is of.
func EnvironmentName(env string) string {
	if env == "" {
		return "this pipeline"
	}
	return fmt.Sprintf("environment %q", env)
}

// unlockLog names where the store's backend logs force-unlocks.
func unlockLog(store *record.Store) string {
	if k, ok := store.Backend.(*kubernetes.Backend); ok {
		return k.UnlockLog()
	}
	return ".pipectl/locks/force-unlocks.log"
}
