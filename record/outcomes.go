package record

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/engine"
)

// Step outcomes survive a full disk: besides the database, the local
// backend keeps each run's step outcomes in a small file of its own,
// .pipectl/outcomes/<run>, allocated in full when the run starts (when
// there is room) and then written in place: it never grows, so a full
// disk does not stop these writes as it stops the database's. A run whose
// record is complete has no such file (Recorder.Finish removes it); one
// whose record is incomplete, or whose process died, keeps it, and a
// resume reads which steps succeeded, and their values, from it.
//
// The file is a header (headerSize bytes: magic, format version, whether
// a write to it failed and why, whether a write to the record failed)
// and records, each a length, a CRC-32 and an
// Outcome as JSON. It holds statuses, step addresses and the values a
// resume needs, kept by the same rule as the database's (encodeValue): no
// value that holds a secret.

// OutcomesFormatVersion is the layout of an outcomes file.
const OutcomesFormatVersion = 1

const (
	outcomesMagic = "pipectl-outcomes"
	headerSize    = 512
	recordHeader  = 8 // length, CRC-32
	// The header: magic [0:16], format version [16:20], flags, each a
	// word of its own, written alone in place: a write to the file failed
	// (why at [64:]), a write to the record failed (a second mark of
	// Local.MarkIncomplete's, which needs no room either); the run [28:64].
	flagOutcomesFailed = 20
	flagRecordFailed   = 24
	headerRun          = 28
	headerWhy          = 64
	// How much room a run's outcomes get: enough for the statuses of
	// every step and the values of the steps a resume skips, within which
	// values keep valueShare of it, so statuses always fit.
	outcomesBase    = 4 << 20
	outcomesPerStep = 1 << 10
	valueShare      = 0.75
)

// OutcomeKeeper is a backend that keeps step outcomes apart from the
// run's record, where what fails a write to the record (a full disk)
// does not lose them. Local is one; a backend without it refuses to
// resume a run whose record is incomplete.
type OutcomeKeeper interface {
	// KeepOutcomes makes the room for a run's outcomes, before it starts:
	// the run does not start when it cannot be made.
	KeepOutcomes(id string, steps int) (OutcomeLog, error)
	// KeptOutcomes reads them; nil when the run has none (its record is
	// complete, or it was recorded before outcomes were kept).
	KeptOutcomes(id string) (*Outcomes, error)
	// DropOutcomes deletes them: the run's record is complete.
	DropOutcomes(id string) error
}

// OutcomeLog is where a recorder writes a run's step outcomes as they
// happen.
type OutcomeLog interface {
	// Append writes one outcome. A value that does not fit any more is
	// left out (Outcome.ValueNotKept); an outcome that does not fit, or
	// whose write fails, marks the log failed and is an error.
	Append(o Outcome) error
	// Sync makes what was written durable (the recorder calls it with
	// each flush: a crash of the machine loses no more than the record).
	Sync() error
	// Close ends the writing: the room not used may be given back.
	Close() error
}

// Outcome is one step outcome as kept: an instance started or finished,
// or a main step succeeded as a whole, with its value (Done).
type Outcome struct {
	Step     string        `json:"step"`
	Instance string        `json:"instance,omitempty"`
	Phase    engine.Phase  `json:"phase,omitempty"`
	Status   engine.Status `json:"status"`
	// Done: the main step succeeded (or was unchanged) as a whole; a
	// resume does not run it again. Value is what it evaluated to
	// (encodeValue's), ValueNotKept when it did not fit.
	Done         bool            `json:"done,omitempty"`
	Value        json.RawMessage `json:"value,omitempty"`
	ValueNotKept bool            `json:"value_not_kept,omitempty"`
}

// Outcomes are a run's kept outcomes, in the order they happened.
type Outcomes struct {
	// Failed is why an outcome could not be kept: what happened after it
	// is not known.
	Failed string
	// RecordFailed: a write to the run's record failed (Local.MarkIncomplete).
	RecordFailed bool
	List         []Outcome
}

// Values are the values of the main steps that succeeded as a whole, and
// the steps that succeeded whose value was not kept.
func (o *Outcomes) Values() (map[string]cty.Value, []string, error) {
	values := map[string]cty.Value{}
	var lost []string
	for _, x := range o.List {
		if !x.Done {
			continue
		}
		if x.ValueNotKept || len(x.Value) == 0 {
			lost = append(lost, x.Step)
			continue
		}
		v, err := decodeValue(x.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("the kept value of step %s is damaged: %w", x.Step, err)
		}
		values[x.Step] = v
	}
	return values, lost, nil
}

// Started are the steps an instance of which started, in the order they
// first did: the steps that may have run.
func (o *Outcomes) Started() []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range o.List {
		if !seen[x.Step] && (x.Status == StatusRunning || x.Status.Ran() || x.Done) {
			seen[x.Step] = true
			out = append(out, x.Step)
		}
	}
	return out
}

// apply updates a run's step records with the outcomes kept after the
// last write of its record: the last outcome of each instance wins.
func (o *Outcomes) apply(r *Run) {
	index := map[[3]string]int{}
	for i, s := range r.Steps {
		index[[3]string{s.Step, s.Instance, string(s.Phase)}] = i
	}
	for _, x := range o.List {
		if x.Done {
			continue
		}
		k := [3]string{x.Step, x.Instance, string(x.Phase)}
		i, ok := index[k]
		if !ok {
			index[k] = len(r.Steps)
			r.Steps = append(r.Steps, StepRecord{Step: x.Step, Instance: x.Instance, Phase: x.Phase, Status: x.Status})
			continue
		}
		if s := &r.Steps[i]; s.Status == StatusRunning || s.Status == StatusInterrupted || x.Status != StatusRunning {
			s.Status = x.Status
		}
	}
}

func (s *Local) outcomesPath(id string) string { return filepath.Join(s.dir, "outcomes", id) }

// KeepOutcomes creates the run's outcomes file, its whole size allocated.
func (s *Local) KeepOutcomes(id string, steps int) (OutcomeLog, error) {
	path := s.outcomesPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	size := int64(outcomesBase + outcomesPerStep*steps)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	l := &outcomeLog{f: f, id: id, size: size, off: headerSize}
	if err := l.create(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("making room for the run's step outcomes in %s: %w", path, err)
	}
	return l, nil
}

// KeptOutcomes reads a run's outcomes file, if it has one.
func (s *Local) KeptOutcomes(id string) (*Outcomes, error) {
	return s.readOutcomes(id, readOutcomes)
}

// outcomesSayRecordFailed reads the header of a run's outcomes file, if
// it has one, for MarkIncomplete's mark.
func (s *Local) outcomesSayRecordFailed(id string) bool {
	h, err := s.readOutcomes(id, readHeader)
	return err == nil && h != nil && h.RecordFailed
}

func (s *Local) readOutcomes(id string, read func(*os.File, string) (*Outcomes, error)) (*Outcomes, error) {
	f, err := os.Open(s.outcomesPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, s.outcomesPath(id))
}

// DropOutcomes deletes a run's outcomes file.
func (s *Local) DropOutcomes(id string) error {
	err := os.Remove(s.outcomesPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// outcomeLog writes an outcomes file in place.
type outcomeLog struct {
	mu     sync.Mutex
	f      *os.File
	id     string
	size   int64
	off    int64 // where the next record goes
	failed bool
}

// create allocates the file and writes its header.
func (l *outcomeLog) create() error {
	if err := allocate(l.f, l.size); err != nil {
		return err
	}
	h := make([]byte, headerSize)
	copy(h, outcomesMagic)
	binary.LittleEndian.PutUint32(h[16:], OutcomesFormatVersion)
	copy(h[headerRun:headerWhy], l.id)
	if _, err := l.f.WriteAt(h, 0); err != nil {
		return err
	}
	return l.f.Sync()
}

func (l *outcomeLog) Append(o Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed {
		return errors.New("an earlier step outcome could not be kept")
	}
	if len(o.Value) > 0 && float64(l.off+int64(len(o.Value))) > valueShare*float64(l.size) {
		o.Value, o.ValueNotKept = nil, true
	}
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	rec := make([]byte, recordHeader+len(b))
	binary.LittleEndian.PutUint32(rec, uint32(len(b)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.ChecksumIEEE(b))
	copy(rec[recordHeader:], b)
	if l.off+int64(len(rec)) > l.size {
		return l.fail(fmt.Errorf("the run's outcomes file is full (%d bytes)", l.size))
	}
	if _, err := l.f.WriteAt(rec, l.off); err != nil {
		return l.fail(err)
	}
	l.off += int64(len(rec))
	return nil
}

// fail marks the log failed, in its header (in place: it needs no room).
func (l *outcomeLog) fail(cause error) error {
	l.failed = true
	why := make([]byte, headerSize-headerWhy)
	copy(why, cause.Error())
	if _, err := l.f.WriteAt(why, headerWhy); err != nil {
		return fmt.Errorf("%w (and marking the outcomes file so failed too: %v)", cause, err)
	}
	if err := setFlag(l.f, flagOutcomesFailed, true); err != nil {
		return fmt.Errorf("%w (and marking the outcomes file so failed too: %v)", cause, err)
	}
	_ = l.f.Sync()
	return cause
}

func (l *outcomeLog) Sync() error { return l.f.Sync() }

// Close gives the room not used back: the run writes no more outcomes.
func (l *outcomeLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.f.Truncate(l.off)
	return l.f.Close()
}

// readOutcomes reads an outcomes file up to its last whole record (not
// the room after it).
func readOutcomes(f *os.File, path string) (*Outcomes, error) {
	out, err := readHeader(f, path)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(f)
	head := make([]byte, recordHeader)
	for {
		if _, err := io.ReadFull(r, head); err != nil {
			return out, nil
		}
		n := int(binary.LittleEndian.Uint32(head))
		if n == 0 || n > 1<<30 {
			return out, nil // the end: zeros, where nothing was written yet
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil || crc32.ChecksumIEEE(b) != binary.LittleEndian.Uint32(head[4:]) {
			return out, nil // a record the process died writing
		}
		var o Outcome
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("%s is damaged: %w", path, err)
		}
		out.List = append(out.List, o)
	}
}

// readHeader reads an outcomes file's header: its flags.
func readHeader(f *os.File, path string) (*Outcomes, error) {
	h := make([]byte, headerSize)
	if _, err := io.ReadFull(f, h); err != nil || string(h[:16]) != outcomesMagic {
		return nil, fmt.Errorf("%s is not a pipectl outcomes file, or is damaged", path)
	}
	if v := binary.LittleEndian.Uint32(h[16:]); v > OutcomesFormatVersion {
		return nil, fmt.Errorf("%s was written by a newer pipectl (outcomes format %d; this one reads up to %d): resume the run with that release",
			path, v, OutcomesFormatVersion)
	}
	out := &Outcomes{RecordFailed: binary.LittleEndian.Uint32(h[flagRecordFailed:]) != 0}
	if binary.LittleEndian.Uint32(h[flagOutcomesFailed:]) != 0 {
		out.Failed = string(bytes.TrimRight(h[headerWhy:], "\x00"))
	}
	return out, nil
}

// writeZeros allocates a file by writing it: where fallocate is missing.
func writeZeros(f *os.File, size int64) error {
	zeros := make([]byte, 64<<10)
	for off := int64(0); off < size; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off); err != nil {
			return err
		}
	}
	return nil
}

// setFlag writes one flag word of an outcomes file's header, in place.
func setFlag(f *os.File, at int64, on bool) error {
	w := make([]byte, 4)
	if on {
		binary.LittleEndian.PutUint32(w, 1)
	}
	_, err := f.WriteAt(w, at)
	return err
}

// markRecordFailed says in a run's outcomes file, if it has one, whether
// a write to its record failed: a mark beside Local.MarkIncomplete's
// empty file, where creating even that fails.
func (s *Local) markRecordFailed(id string, failed bool) error {
	f, err := os.OpenFile(s.outcomesPath(id), os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := setFlag(f, flagRecordFailed, failed); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
