package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// CreateRun creates the run's bucket with its plan and summary. The local
// lock cannot be lost while held: the token is not checked.
func (s *Local) CreateRun(_ uint64, run *Run, plan json.RawMessage) error {
	// Where a failed write is marked, made now: an empty file needs no
	// free space, the directory would.
	if err := os.MkdirAll(filepath.Join(s.dir, "incomplete"), 0o755); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		runs, err := tx.CreateBucketIfNotExists(runsBucket)
		if err != nil {
			return err
		}
		b, err := runs.CreateBucket([]byte(run.ID))
		if err != nil {
			return err
		}
		for _, name := range [][]byte{eventsBucket, valuesBucket, stepsBucket} {
			if _, err := b.CreateBucket(name); err != nil {
				return err
			}
		}
		pb, err := b.CreateBucket(pendingPlanBucket)
		if err != nil {
			return err
		}
		if err := pb.Put(planKey, plan); err != nil {
			return err
		}
		return putMeta(b, run)
	})
}

// A run's plan is kept apart while the run goes on, and put beside its
// summary (planKey, where records always had it) by the final write.
// bbolt rewrites a bucket's leaf whole when one of its keys changes, and
// every write of a run changes its summary and its sub-buckets' roots: a
// plan kept in the run's bucket from the start was rewritten at every
// flush, its size times the flushes (2.2 MB a flush at 10,000 steps),
// quadratic in a run's steps. In a bucket of its own its pages are left
// alone. A run that did not finish has its plan there (runPlan reads
// both); an older pipectl finds none in it.

// settlePlan moves the plan to where a finished run has it.
func settlePlan(b *bolt.Bucket) error {
	pb := b.Bucket(pendingPlanBucket)
	if pb == nil {
		return nil // recorded by an older pipectl, or moved already
	}
	if err := b.Put(planKey, bytes.Clone(pb.Get(planKey))); err != nil {
		return err
	}
	return b.DeleteBucket(pendingPlanBucket)
}

// runPlan is a run's plan, where it is.
func runPlan(b *bolt.Bucket) []byte {
	if plan := b.Get(planKey); plan != nil {
		return plan
	}
	if pb := b.Bucket(pendingPlanBucket); pb != nil {
		return pb.Get(planKey)
	}
	return nil
}

// WriteRun writes a batch in one transaction (one fsync). While the run
// goes on, the steps that changed are written each under its own key, and
// the summary without its steps: rewriting every step at every batch made
// a run's recording quadratic in its steps. The final batch writes the
// whole summary, steps included, as records always had it.
func (s *Local) WriteRun(id string, batch *Batch) (int64, error) {
	meta, err := json.Marshal(batch.Run)
	if err != nil {
		return 0, err
	}
	written := int64(len(meta))
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		if b == nil {
			return errNoRun(id)
		}
		vb := b.Bucket(valuesBucket)
		for _, step := range slices.Sorted(maps.Keys(batch.Values)) {
			v := batch.Values[step]
			if err := vb.Put([]byte(step), v); err != nil {
				return err
			}
			written += int64(len(v))
		}
		if err := putSteps(b, batch.Steps, &written); err != nil {
			return err
		}
		if err := putArtifacts(b, batch.Artifacts); err != nil {
			return err
		}
		ev := b.Bucket(eventsBucket)
		ev.FillPercent = appendOnly
		for _, e := range batch.Events {
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			seq, err := ev.NextSequence()
			if err != nil {
				return err
			}
			if err := ev.Put(seqKey(seq), v); err != nil {
				return err
			}
			written += int64(len(v))
		}
		if batch.Final {
			if err := settlePlan(b); err != nil {
				return err
			}
		}
		return putSummary(b, batch.Run, meta)
	})
	return written, err
}

// appendOnly fills a page whole before it splits, for the buckets written
// in the order of their keys: a run's events (a sequence) and its step
// records (by index, rewritten while a step goes on). bbolt's default
// splits at half a page, which left them half empty.
const appendOnly = 1.0

// putSteps writes step records by their index in the run (older records
// have none: their steps are in the summary).
func putSteps(b *bolt.Bucket, steps map[int]StepRecord, written *int64) error {
	sb := b.Bucket(stepsBucket)
	if sb == nil || len(steps) == 0 {
		return nil
	}
	sb.FillPercent = appendOnly
	for _, i := range slices.Sorted(maps.Keys(steps)) {
		step := steps[i]
		v, err := json.Marshal(&step)
		if err != nil {
			return err
		}
		if err := sb.Put(seqKey(uint64(i)), v); err != nil {
			return err
		}
		*written += int64(len(v))
	}
	return nil
}

func putMeta(b *bolt.Bucket, run *Run) error {
	v, err := json.Marshal(run)
	if err != nil {
		return err
	}
	return putSummary(b, run, v)
}

// MarkIncomplete marks the run's record incomplete with an empty file,
// which needs no free space (its directory is made by CreateRun), and in
// its outcomes file's header, in place: where even the empty file cannot
// be made, the mark is not lost.
func (s *Local) MarkIncomplete(id string, incomplete bool) error {
	inFile := s.markRecordFailed(id, incomplete)
	path := filepath.Join(s.dir, "incomplete", id)
	if !incomplete {
		return errors.Join(os.Remove(path), inFile)
	}
	f, err := os.Create(path)
	if err != nil {
		return errors.Join(err, inFile)
	}
	return errors.Join(f.Close(), inFile)
}

func errNoRun(id string) error {
	return fmt.Errorf("no run %q: `pipectl runs` lists them", id)
}
