package record

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// DefaultKeep is how many finished runs of each environment the record
// keeps: starting a run deletes the oldest beyond it.
const DefaultKeep = 100

// RunSize is a run and what it takes in its backend.
type RunSize struct {
	Run   *Run
	Bytes int64
}

// Retained decides what a retention policy deletes from runs (newest
// first): the oldest finished runs of each pipeline and environment beyond
// r.KeepPerEnvironment, then the oldest finished runs of any until the rest
// fits r.MaxBytes. Active runs are kept, and count in the size. It is the
// policy of every backend: a backend measures, this decides.
func Retained(runs []RunSize, r Retention) (deleted []string, kept int, bytes int64) {
	// A parked run still waits at its gate in its record once resumed:
	// the run that resumed it goes on for it.
	resumed := map[string]bool{}
	byID := map[string]*Run{}
	for _, rs := range runs {
		resumed[rs.Run.ResumedFrom] = true
		byID[rs.Run.ID] = rs.Run
	}
	// The runs an active run resumes are kept with it: a run resuming a
	// parked one reads the answers given to the runs it continues.
	continued := map[string]bool{}
	for _, rs := range runs {
		if !rs.Run.Active() || resumed[rs.Run.ID] {
			continue
		}
		for r := byID[rs.Run.ResumedFrom]; r != nil && !continued[r.ID]; r = byID[r.ResumedFrom] {
			continued[r.ID] = true
		}
	}
	active := func(run *Run) bool { return run.Active() && !resumed[run.ID] || continued[run.ID] }
	seen := map[[2]string]int{}
	keep := make([]bool, len(runs))
	for i, rs := range runs {
		key := [2]string{rs.Run.Pipeline, rs.Run.Environment}
		keep[i] = active(rs.Run) || r.KeepPerEnvironment <= 0 || seen[key] < r.KeepPerEnvironment
		if !active(rs.Run) {
			seen[key]++
		}
		if keep[i] {
			bytes += rs.Bytes
		}
	}
	for i := len(runs) - 1; i >= 0 && r.MaxBytes > 0 && bytes > r.MaxBytes; i-- { // oldest first
		if keep[i] && !active(runs[i].Run) {
			keep[i] = false
			bytes -= runs[i].Bytes
		}
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if keep[i] {
			kept++
		} else {
			deleted = append(deleted, runs[i].Run.ID)
		}
	}
	return deleted, kept, bytes
}

// Prune deletes the runs the retention policy does not keep, in one
// transaction. bbolt reuses their pages; the file shrinks only when
// compacted (Compact).
func (s *Local) Prune(r Retention) (*Pruned, error) {
	out := &Pruned{}
	if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	err := s.update(func(tx *bolt.Tx) error {
		runs, err := s.sizes(tx, r.MaxBytes > 0)
		if err != nil {
			return err
		}
		out.Deleted, out.Kept, out.Bytes = Retained(runs, r)
		for _, id := range out.Deleted {
			if err := tx.Bucket(runsBucket).DeleteBucket([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range out.Deleted {
		_ = os.Remove(filepath.Join(s.dir, "incomplete", id))
		_ = s.DropOutcomes(id)
	}
	return out, nil
}

// sizes lists every run (its head: no step records), newest first, with
// the bytes its pages hold when measure is set: that walks every page of
// every run, which an apply pruning at its start must not pay.
func (s *Local) sizes(tx *bolt.Tx, measure bool) ([]RunSize, error) {
	runs := tx.Bucket(runsBucket)
	if runs == nil {
		return nil, nil
	}
	var out []RunSize
	err := runs.ForEachBucket(func(id []byte) error {
		b := runs.Bucket(id)
		r, err := s.readHead(b)
		if err != nil {
			return err
		}
		rs := RunSize{Run: r}
		if measure {
			st := b.Stats()
			rs.Bytes = int64(st.LeafInuse + st.BranchInuse + st.InlineBucketInuse)
		}
		out = append(out, rs)
		return nil
	})
	slices.SortFunc(out, func(a, b RunSize) int { return b.Run.Started.Compare(a.Run.Started) })
	return out, err
}

// Compact rewrites the database without the free pages deleted runs left,
// and puts it in place of the old one. It holds the lock of every
// environment meanwhile, so no apply starts, and refuses while one holds a
// lock (a run goes on, or an apply plans). Readers (`runs logs -f`) open
// the database for each read and are not held up: the next read opens the
// new file. A writer (`runs prune`, an apply of an environment that had no
// lock file yet) waits for the old file, sees it replaced and opens the new
// one (Local.with).
func (s *Local) Compact(ctx context.Context) (*Compacted, error) {
	info, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return &Compacted{}, nil
	}
	if err != nil {
		return nil, err
	}
	release, err := s.lockAll()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tmp := s.path + ".compacting"
	_ = os.Remove(tmp)
	// Read only: readers go on meanwhile; writers wait for the shared
	// lock, then find the new file in its place.
	err = s.with(true, func(src *bolt.DB) error {
		dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: openTimeout})
		if err != nil {
			return err
		}
		if err := bolt.Compact(dst, src, 64<<20); err != nil {
			dst.Close()
			return err
		}
		if err := dst.Close(); err != nil {
			return err
		}
		return os.Rename(tmp, s.path) // still holding the old file's lock
	})
	if err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("compacting %s: %w", s.path, err)
	}
	after, err := os.Stat(s.path)
	if err != nil {
		return nil, err
	}
	return &Compacted{Before: info.Size(), After: after.Size()}, nil
}

// lockAll takes the flock of every environment's lock file, or says which
// apply holds one (ErrActive). An environment without a lock file has had
// no apply yet; one that starts meanwhile waits for the database.
func (s *Local) lockAll() (release func(), err error) {
	paths, _ := filepath.Glob(filepath.Join(s.dir, "locks", "*.lock"))
	var held []*os.File
	release = func() {
		for _, f := range held {
			f.Close()
		}
	}
	for _, path := range paths {
		f, err := os.OpenFile(path, os.O_RDWR, 0o644)
		if err != nil {
			release()
			return nil, err
		}
		if err := tryLock(f); err != nil {
			f.Close()
			release()
			if errors.Is(err, errLocked) {
				h := readHolder(path)
				return nil, fmt.Errorf("%w: %s holds the lock of %s; compact when no run is going on", ErrActive, h, lockedWhat(h.Environment))
			}
			return nil, err
		}
		held = append(held, f)
	}
	return release, nil
}
