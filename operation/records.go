package operation

import (
	"context"
	"fmt"

	"github.com/pipectl/pipectl/record"
	"github.com/pipectl/pipectl/record/kubernetes"
)

// The run records of a pipeline (its runs, their journals and artifacts,
// its environment locks) are opened here only; the operations then call
// the store they were given. Which backend holds them is the pipeline's
// backend block, overridden by PIPECTL_BACKEND_* and -backend-config
// (backend.go, openRecords).

// openRun opens the records of the pipeline at path and resolves id: a
// run id, or latest for the newest run.
func openRun(path, id string, c BackendConfig) (*record.Store, string, error) {
	store, err := openRecords(path, "", c)
	if err != nil {
		return nil, "", err
	}
	if id == Latest {
		id, err = store.Latest()
	}
	return store, id, err
}

// Latest names the newest run where a run id is expected.
const Latest = "latest"

// lockEnvironment opens the records of a pipeline directory and takes the
// lock of one of its environments for an apply.
func lockEnvironment(ctx context.Context, dir, env string, c BackendConfig, g *Gates, o record.LockOptions) (*record.Store, record.Lease, error) {
	store, err := openRecords(dir, env, c)
	if err != nil {
		return nil, nil, err
	}
	// The lock names the run's starter as the backend knows them: on a
	// cluster its authenticated identity, not what PIPECTL_USER says.
	if err := g.identify(store); err != nil {
		return nil, nil, err
	}
	o.User = g.User
	lease, err := store.Lock(ctx, env, o)
	return store, lease, err
}

// findStaleLock finds the lock run left on an environment of a pipeline
// directory, refusing one its process still holds. A shared backend's
// lock is broken only with a reason, asked for first: before the Lease is
// watched for its duration, and before the confirmation.
func findStaleLock(dir, run, reason string, c BackendConfig) (*record.Store, *record.StaleLock, error) {
	store, err := openRecords(dir, "", c)
	if err != nil {
		return nil, nil, err
	}
	if _, shared := store.Backend.(*kubernetes.Backend); shared && reason == "" {
		return nil, nil, fmt.Errorf("force-unlock of a lock in %s needs a reason (-reason \"...\"): it is recorded for everyone who shares the backend", store.Where())
	}
	stale, err := store.StaleLock(run)
	return store, stale, err
}
