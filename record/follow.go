package record

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/pipectl/pipectl/engine"
)

// EventsSince hands onEvent every event of a run recorded after the
// event numbered after (0: from the first), and returns the run's summary
// read in the same transaction and the number of the last event read. A
// run that is no longer running has every event in: its summary and its
// last events are written together. That is what following a run from
// another process needs: call it again with the returned number.
func (s *Local) EventsSince(id string, after uint64, onEvent func(engine.Event) error) (*Run, uint64, error) {
	var run *Run
	last := after
	err := s.runBucket(id, func(b *bolt.Bucket) error {
		var err error
		if run, err = s.readMeta(b); err != nil {
			return err
		}
		c := b.Bucket(eventsBucket).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			var e engine.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("an event of run %s is damaged: %w", id, err)
			}
			if err := onEvent(e); err != nil {
				return err
			}
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return run, last, err
}

// Unrecorded lists the runs whose apply holds a lock but has not
// recorded them yet, newest first: it is planning, or waiting for its
// confirmation. Their ids are known from the locks before anything of
// them is in the record.
func (s *Local) Unrecorded() []string {
	paths, _ := filepath.Glob(filepath.Join(s.dir, "locks", "*.lock"))
	var holders []Holder
	for _, path := range paths {
		h := readHolder(path)
		if h.Run == "" || !held(path) {
			continue
		}
		if recorded, err := s.recorded(h.Run); recorded || err != nil {
			continue // pipectl runs lists it, or says why it cannot
		}
		holders = append(holders, h)
	}
	slices.SortFunc(holders, func(a, b Holder) int { return b.Started.Compare(a.Started) })
	ids := make([]string, len(holders))
	for i, h := range holders {
		ids[i] = h.Run
	}
	return ids
}

// recorded tells whether the record holds run id.
func (s *Local) recorded(id string) (found bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		found = tx.Bucket(runsBucket).Bucket([]byte(id)) != nil
		return nil
	})
	return found, err
}
