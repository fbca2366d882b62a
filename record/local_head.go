package record

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"

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
// that knows no head, or the head is damaged) is not used: the summary is
// read whole, as before. Computing the CRC reads every page of the
// summary, so a truncated database still faults where Init looks.
var headKey = []byte("head")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// putSummary writes a run's summary, meta being its JSON, and its head.
func putSummary(b *bolt.Bucket, run *Run, meta []byte) error {
	if err := putHead(b, run, meta); err != nil {
		return err
	}
	return b.Put(metaKey, meta)
}

func putHead(b *bolt.Bucket, run *Run, meta []byte) error {
	head := meta // while the run goes on, its summary has no step records
	if len(run.Steps) > 0 {
		h := *run
		h.Steps = nil
		var err error
		if head, err = json.Marshal(&h); err != nil {
			return err
		}
	}
	v := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(head)), crc32.Checksum(meta, castagnoli))
	return b.Put(headKey, append(v, head...))
}

// readHead reads a run as readMeta does, but without its step records. A
// run without a head of its summary is read whole, and given one when the
// transaction writes (Prune, at the start of every apply): the runs an
// older pipectl recorded get theirs at the first apply after an upgrade.
func (s *Local) readHead(b *bolt.Bucket) (*Run, error) {
	meta, head := b.Get(metaKey), b.Get(headKey)
	var r Run
	if len(head) < 4 || binary.BigEndian.Uint32(head) != crc32.Checksum(meta, castagnoli) ||
		json.Unmarshal(head[4:], &r) != nil {
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
		r.Steps = nil
	} else if err := checkFormat(&r); err != nil {
		return nil, err
	}
	s.settle(&r, false)
	return &r, nil
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
