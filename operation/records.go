package operation

import (
	"context"

	"github.com/pipectl/pipectl/record"
)

// The run records of a pipeline (its runs, their journals and artifacts,
// its environment locks) are opened here only; the operations then call
// the store they were given. Another backend than the store in
// DIR/.pipectl starts as a change to this file.

// openRecords opens the records of the pipeline at path (a directory or a
// file in it), refusing when nothing was ever recorded there.
func openRecords(path string) (*record.Store, error) {
	return record.OpenExisting(PipelineDir(path))
}

// openRun opens the records of the pipeline at path and resolves id: a
// run id, or latest for the newest run.
func openRun(path, id string) (*record.Store, string, error) {
	store, err := openRecords(path)
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
func lockEnvironment(ctx context.Context, dir, env string, o record.LockOptions) (*record.Store, record.Lease, error) {
	store, err := record.OpenExisting(dir)
	if err != nil {
		return nil, nil, err
	}
	lease, err := store.Lock(ctx, env, o)
	return store, lease, err
}

// findStaleLock finds the lock run left on an environment of a pipeline
// directory, refusing one its process still holds.
func findStaleLock(dir, run string) (*record.Store, *record.StaleLock, error) {
	store, err := record.OpenExisting(dir)
	if err != nil {
		return nil, nil, err
	}
	stale, err := store.StaleLock(run)
	return store, stale, err
}
