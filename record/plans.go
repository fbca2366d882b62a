package record

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Saved plans applied: the content hash of each → the run that applied
// it, kept when runs are pruned (a mark is a few bytes). The record's meta
// bucket says since when marks are kept: a saved plan made before may
// have been applied where this record does not know.
var (
	plansBucket = []byte("saved_plans")
	metaBucket  = []byte("record")
	sinceKey    = []byte("saved_plans_since")
)

type planMark struct {
	Run  string    `json:"run"`
	Time time.Time `json:"time"`
}

// initPlans starts the marks of a database made before they were kept:
// from the runs it holds, which applied saved plans since its oldest run
// (an older pipectl pruned the ones before). A new database keeps them
// from now on.
func initPlans(tx *bolt.Tx) error {
	if tx.Bucket(plansBucket) != nil {
		return nil
	}
	marks, err := tx.CreateBucket(plansBucket)
	if err != nil {
		return err
	}
	since := time.Now().UTC()
	err = tx.Bucket(runsBucket).ForEachBucket(func(id []byte) error {
		var r Run
		if err := json.Unmarshal(tx.Bucket(runsBucket).Bucket(id).Get(metaKey), &r); err != nil {
			return nil // a damaged record is reported where it is read
		}
		if r.Started.Before(since) {
			since = r.Started
		}
		if r.SavedPlan == "" || marks.Get([]byte(r.SavedPlan)) != nil {
			return nil
		}
		return putMark(marks, r.SavedPlan, r.ID, r.Started)
	})
	if err != nil {
		return err
	}
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	v, _ := since.MarshalText()
	return meta.Put(sinceKey, v)
}

func putMark(marks *bolt.Bucket, hash, run string, at time.Time) error {
	v, err := json.Marshal(planMark{Run: run, Time: at.UTC()})
	if err != nil {
		return err
	}
	return marks.Put([]byte(hash), v)
}

// MarkPlanApplied marks a saved plan applied by run, in one write
// transaction: of two applies of one plan at once, the second is refused.
func (s *Local) MarkPlanApplied(hash, run string) error {
	return s.update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(runsBucket); err != nil {
			return err
		}
		if err := initPlans(tx); err != nil {
			return err
		}
		marks := tx.Bucket(plansBucket)
		if v := marks.Get([]byte(hash)); v != nil {
			var m planMark
			_ = json.Unmarshal(v, &m)
			return &PlanAppliedError{Hash: hash, Run: m.Run}
		}
		return putMark(marks, hash, run, time.Now())
	})
}

// PlanApplied is the run that applied a saved plan, and since when marks
// are kept. A record that does not exist yet keeps them from now.
func (s *Local) PlanApplied(hash string) (run string, since time.Time, err error) {
	since = time.Now().UTC()
	err = s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(plansBucket) == nil {
			return plannedInRuns(tx, hash, &run, &since)
		}
		var m planMark
		if v := tx.Bucket(plansBucket).Get([]byte(hash)); v != nil {
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
		}
		run = m.Run
		if meta := tx.Bucket(metaBucket); meta != nil {
			return since.UnmarshalText(meta.Get(sinceKey))
		}
		return nil
	})
	return run, since, err
}

// plannedInRuns answers PlanApplied from the runs of a database an older
// pipectl made, read only (initPlans, in reverse).
func plannedInRuns(tx *bolt.Tx, hash string, run *string, since *time.Time) error {
	runs := tx.Bucket(runsBucket)
	return runs.ForEachBucket(func(id []byte) error {
		var r Run
		if err := json.Unmarshal(runs.Bucket(id).Get(metaKey), &r); err != nil {
			return nil
		}
		if r.Started.Before(*since) {
			*since = r.Started
		}
		if r.SavedPlan == hash && hash != "" && (*run == "" || r.ID < *run) { // ids sort by time: the first
			*run = r.ID
		}
		return nil
	})
}
