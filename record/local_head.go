package record

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"slices"

	bolt "go.etcd.io/bbolt"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// A run's head is its summary without the step records, kept beside the
// summary (metaKey) under headKey. A finished run's summary holds every
// step record (records always had it so), and opening the record and
// pruning it, as every apply does first, read the summary of every kept
// run: DefaultKeep runs of 10,000 steps were a million step records
// decoded before a run began. They read heads.
//
// A head starts with the CRC-32C of the summary it was made from. One
// that does not match its summary (the summary was written by a pipectl
// that knows no head, or the head is damaged) or has no step count is not
// used: the summary is read whole, as before. Computing the CRC reads
// every page of the summary, so a truncated database still faults where
// Init looks.
var headKey = []byte("head")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// storedHead is a head as stored: the run without its step records, and
// how many its summary has (a list of runs shows the count). A head
// without the count is not used.
type storedHead struct {
	*Run
	Count *int `json:"step_count"`
}

// putSummary writes a run's summary, meta being its JSON, and its head.
func putSummary(b *bolt.Bucket, run *Run, meta []byte) error {
	if err := putHead(b, run, meta); err != nil {
		return err
	}
	return b.Put(metaKey, meta)
}

func putHead(b *bolt.Bucket, run *Run, meta []byte) error {
	h, count := *run, len(run.Steps)
	h.Steps = nil
	head, err := json.Marshal(storedHead{Run: &h, Count: &count})
	if err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(head)), crc32.Checksum(meta, castagnoli))
	return b.Put(headKey, append(v, head...))
}

// readHead reads a run as readMeta does, but without its step records:
// StepCount is how many the summary has (none while the run goes on: they
// are in the steps bucket). A run without a head of its summary is read
// whole, and given one when the transaction writes (Prune, at the start of
// every apply): the runs an older pipectl recorded get theirs at the first
// apply after an upgrade.
func (s *Local) readHead(b *bolt.Bucket) (*Run, error) {
	meta, head := b.Get(metaKey), b.Get(headKey)
	var r Run
	stored := storedHead{Run: &r}
	if len(head) < 4 || binary.BigEndian.Uint32(head) != crc32.Checksum(meta, castagnoli) ||
		json.Unmarshal(head[4:], &stored) != nil || stored.Count == nil {
		r = Run{}
		if err := json.Unmarshal(meta, &r); err != nil {
			return nil, fmt.Errorf("a run record is damaged: %w", err)
		}
		if err := checkFormat(&r); err != nil {
			return nil, err
		}
		if b.Tx().Writable() {
			if err := putHead(b, &r, meta); err != nil {
				return nil, err
			}
		}
		r.Steps, r.StepCount = nil, len(r.Steps)
	} else if err := checkFormat(&r); err != nil {
		return nil, err
	} else {
		r.StepCount = *stored.Count
	}
	s.settle(&r, false)
	return &r, nil
}

// ListHeads returns the runs f selects, newest first, each without its
// step records (StepCount says how many): what `pipectl runs` shows. A run
// that did not finish (going on, or its process died) is read whole: its
// step records are beside its summary, with those kept for a resume.
func (s *Local) ListHeads(f Filter) ([]*Run, error) {
	var out []*Run
	err := s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		return runs.ForEachBucket(func(id []byte) error {
			b := runs.Bucket(id)
			r, err := s.readHead(b)
			if err == nil && (r.Status == StatusRunning || r.Status == StatusInterrupted) {
				if r, err = s.readMeta(b); err == nil {
					r.Steps, r.StepCount = nil, len(r.Steps)
				}
			}
			if err == nil && f.Match(r) {
				out = append(out, r)
			}
			return err
		})
	})
	slices.SortFunc(out, func(a, b *Run) int { return b.Started.Compare(a.Started) })
	return out, err
}

// checkFormat refuses a run a newer pipectl recorded (0: made before
// records were versioned, read alike).
func checkFormat(r *Run) error {
	if r.FormatVersion > v1.RecordFormatVersion {
		return fmt.Errorf("run %s was recorded by a newer pipectl (record format %d; this one reads up to %d): read it with that release",
			r.ID, r.FormatVersion, v1.RecordFormatVersion)
	}
	return nil
}
