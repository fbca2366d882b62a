package record

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/engine"
)

// keptRun creates a run whose record has only its start, and the
// outcomes file beside it, as a run on a full disk leaves them.
func keptRun(t *testing.T, steps int) (*Local, OutcomeLog) {
	t.Helper()
	s := NewLocal(t.TempDir())
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	log, err := s.KeepOutcomes("r1", steps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	if err := s.CreateRun(0, &Run{ID: "r1", Pipeline: "p", Started: time.Now(), Status: StatusRunning}, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	return s, log
}

func value(t *testing.T, v cty.Value) []byte {
	t.Helper()
	b, ok := encodeValue(v, engine.NewRedactor())
	if !ok {
		t.Fatal("value not encodable")
	}
	return b
}

func TestKeptOutcomesCompleteTheRecord(t *testing.T) {
	s, log := keptRun(t, 2)
	for _, o := range []Outcome{
		{Step: "a", Phase: engine.PhaseMain, Status: StatusRunning},
		{Step: "a", Phase: engine.PhaseMain, Status: engine.StatusSucceeded},
		{Step: "a", Phase: engine.PhaseMain, Status: engine.StatusSucceeded, Done: true, Value: value(t, cty.StringVal("v1"))},
		{Step: "b", Instance: "x", Phase: engine.PhaseMain, Status: StatusRunning},
	} {
		if err := log.Append(o); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.ListRuns(Filter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%v %v", runs, err)
	}
	got := map[string]engine.Status{}
	for _, st := range runs[0].Steps {
		got[st.Step+"/"+st.Instance] = st.Status
	}
	if len(got) != 2 || got["a/"] != engine.StatusSucceeded || got["b/x"] != StatusInterrupted {
		t.Errorf("steps read %v, want a succeeded, b[x] interrupted", got)
	}
	kept, err := s.KeptOutcomes("r1")
	if err != nil || kept == nil || kept.Failed != "" {
		t.Fatalf("%+v %v", kept, err)
	}
	values, lost, err := kept.Values()
	if err != nil || len(lost) != 0 || !values["a"].RawEquals(cty.StringVal("v1")) {
		t.Errorf("values %v, lost %v, %v", values, lost, err)
	}
	if started := kept.Started(); strings.Join(started, ",") != "a,b" {
		t.Errorf("started %v", started)
	}
}

// The file never grows: a value past its share is not kept (and said
// so), an outcome past its end marks it failed, in place.
func TestOutcomesFileHasAFixedSize(t *testing.T) {
	s, log := keptRun(t, 0)
	path := s.outcomesPath("r1")
	before, _ := os.Stat(path)
	big := value(t, cty.StringVal(strings.Repeat("x", outcomesBase)))
	if err := log.Append(Outcome{Step: "big", Status: engine.StatusSucceeded, Done: true, Value: big}); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; err == nil && i < outcomesBase; i++ {
		err = log.Append(Outcome{Step: "s", Phase: engine.PhaseMain, Status: StatusRunning})
	}
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("filling the file: %v", err)
	}
	if after, _ := os.Stat(path); after.Size() != before.Size() || before.Size() != outcomesBase {
		t.Errorf("the file went from %d to %d bytes", before.Size(), after.Size())
	}
	kept, err := s.KeptOutcomes("r1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(kept.Failed, "full") {
		t.Errorf("the file does not say it failed: %q", kept.Failed)
	}
	if _, lost, _ := kept.Values(); len(lost) != 1 || lost[0] != "big" {
		t.Errorf("a value not kept reads as lost %v", lost)
	}
}

// A record the process died writing ends the list; a file of a newer
// format is refused, naming it.
func TestOutcomesFileTornAndNewer(t *testing.T) {
	s, log := keptRun(t, 1)
	if err := log.Append(Outcome{Step: "a", Status: StatusRunning}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(s.outcomesPath("r1"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	torn := make([]byte, 16)
	binary.LittleEndian.PutUint32(torn, 8) // a length, and a CRC that does not match
	off := int64(headerSize + recordHeader + len(`{"step":"a","status":"running"}`))
	if _, err := f.WriteAt(torn, off); err != nil {
		t.Fatal(err)
	}
	kept, err := s.KeptOutcomes("r1")
	if err != nil || len(kept.List) != 1 {
		t.Fatalf("%+v %v", kept, err)
	}
	v := make([]byte, 4)
	binary.LittleEndian.PutUint32(v, OutcomesFormatVersion+1)
	if _, err := f.WriteAt(v, 16); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeptOutcomes("r1"); err == nil || !strings.Contains(err.Error(), "newer pipectl") {
		t.Errorf("a newer file: %v", err)
	}
}

// A run whose record is complete keeps no outcomes file; Prune deletes
// the file of a run it deletes.
func TestOutcomesFileGoesWithACompleteRecord(t *testing.T) {
	dir := t.TempDir()
	store, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Start(&engine.Plan{Pipeline: "p", Steps: []*engine.PlannedStep{{Name: "a"}}}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	local := store.Backend.(*Local)
	if _, err := os.Stat(local.outcomesPath(rec.ID())); err != nil {
		t.Fatalf("no outcomes file while the run goes on: %v", err)
	}
	rec.Event(engine.Event{Type: engine.StepStarted, Step: "a", Phase: engine.PhaseMain})
	rec.StepValue("a", cty.StringVal("v"))
	if err := rec.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(local.outcomesPath(rec.ID())); !os.IsNotExist(err) {
		t.Errorf("the outcomes file of a complete record is still there: %v", err)
	}
	s, _ := keptRun(t, 1)
	if _, err := s.WriteRun("r1", &Batch{Run: &Run{ID: "r1", Pipeline: "p", Started: time.Now().Add(-time.Hour), Status: engine.StatusFailed}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(0, &Run{ID: "r2", Pipeline: "p", Started: time.Now(), Status: engine.StatusFailed}, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if pruned, err := s.Prune(Retention{KeepPerEnvironment: 1}); err != nil || len(pruned.Deleted) != 1 || pruned.Deleted[0] != "r1" {
		t.Fatalf("prune: %+v %v", pruned, err)
	}
	if _, err := os.Stat(s.outcomesPath("r1")); !os.IsNotExist(err) {
		t.Errorf("the outcomes file of a pruned run is still there: %v", err)
	}
}

// Where even the empty file that marks a record incomplete cannot be
// made, the mark in the outcomes file's header says it; a later write
// that succeeds clears both.
func TestOutcomesFileKeepsTheIncompleteMark(t *testing.T) {
	s, log := keptRun(t, 1)
	if err := log.Append(Outcome{Step: "a", Phase: engine.PhaseMain, Status: engine.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkIncomplete("r1", true); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.dir, "incomplete", "r1")); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(Filter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%v %v", runs, err)
	}
	if !strings.Contains(runs[0].RecordFailed, "kept beside it") || len(runs[0].Steps) != 1 || runs[0].Steps[0].Status != engine.StatusSucceeded {
		t.Errorf("record_failed %q, steps %+v", runs[0].RecordFailed, runs[0].Steps)
	}
	_ = s.MarkIncomplete("r1", false)
	if runs, _ := s.ListRuns(Filter{}); runs[0].RecordFailed != "" {
		t.Errorf("still incomplete: %q", runs[0].RecordFailed)
	}
}

// A kept value reads back as the value it was, whatever its strings hold,
// and in the layout json.Marshal gave it (storedValue).
func TestKeptValueReadsBackAsItWas(t *testing.T) {
	for _, v := range []cty.Value{
		cty.StringVal("<b>&\u2028\"quoted\"\n"),
		cty.NumberFloatVal(0.1),
		cty.ObjectVal(map[string]cty.Value{
			"step_id": cty.StringVal("n1"),
			"list":    cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(1 << 60)}),
			"map":     cty.MapVal(map[string]cty.Value{"a&b": cty.True}),
			"none":    cty.NullVal(cty.String),
			"tuple":   cty.TupleVal([]cty.Value{cty.StringVal("x"), cty.EmptyObjectVal}),
		}),
	} {
		b := value(t, v)
		back, err := decodeValue(b)
		if err != nil || !back.RawEquals(v) {
			t.Errorf("%#v read back as %#v (%v)", v, back, err)
		}
		ty, _ := v.Type().MarshalJSON()
		val, _ := ctyjson.Marshal(v, v.Type())
		if want, _ := json.Marshal(storedValue{Type: ty, Value: val}); string(b) != string(want) {
			t.Errorf("kept as %s, json.Marshal gives %s", b, want)
		}
	}
}
