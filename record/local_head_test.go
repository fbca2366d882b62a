package record

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pipectl/pipectl/engine"
)

// A run's head is its summary without the step records, whoever wrote the
// summary last: this pipectl (a finished run, one going on, a recorded
// force-unlock), a pipectl that knows no head (the summary changed, the
// head did not), or nobody sane (a damaged head).
func TestHeadIsTheSummaryWithoutItsSteps(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	finished, err := store.Start(&engine.Plan{Pipeline: "p", Environment: "dev"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"a", "b", "c"} {
		finished.Event(engine.Event{Type: engine.StepStarted, Step: step, Attempt: 1})
		finished.Event(engine.Event{Type: engine.StepFinished, Step: step, Status: engine.StatusSucceeded, Outputs: map[string]any{"x": step}})
	}
	finished.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded})
	if err := finished.Finish(); err != nil {
		t.Fatal(err)
	}
	going, err := store.Start(&engine.Plan{Pipeline: "p", Environment: "stg"}, engine.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	going.Event(engine.Event{Type: engine.StepStarted, Step: "a", Attempt: 1})
	going.flush(false)
	local := store.Backend.(*Local)

	same := func(when string) {
		t.Helper()
		err := local.view(func(tx *bolt.Tx) error {
			runs := tx.Bucket(runsBucket)
			return runs.ForEachBucket(func(id []byte) error {
				whole, err := local.readMeta(runs.Bucket(id))
				if err != nil {
					return err
				}
				head, err := local.readHead(runs.Bucket(id))
				if err != nil {
					return err
				}
				if len(whole.Steps) == 0 {
					t.Errorf("%s: run %s has no step records to leave out", when, id)
				}
				if head.Status != StatusRunning && head.Status != StatusInterrupted && head.StepCount != len(whole.Steps) {
					t.Errorf("%s: run %s's head counts %d step records, its summary has %d", when, id, head.StepCount, len(whole.Steps))
				}
				whole.Steps, head.StepCount = nil, 0
				if !reflect.DeepEqual(head, whole) {
					t.Errorf("%s: run %s\nhead    %+v\nsummary %+v", when, id, head, whole)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		listsAgree(t, when, store)
	}
	same("written by this pipectl")
	if h := rawHead(t, local, finished.ID()); len(h) < 4 || !json.Valid(h[4:]) {
		t.Fatalf("the finished run has no head: %q", h)
	}
	if got := headSteps(t, local, finished.ID()); got != 0 {
		t.Errorf("the head holds %d step records, want none", got)
	}

	// A pipectl that knows no head rewrites the summary.
	rewrite(t, local, finished.ID(), metaKey, func(v []byte) []byte {
		var r Run
		if err := json.Unmarshal(v, &r); err != nil {
			t.Fatal(err)
		}
		r.Status = engine.StatusFailed
		out, _ := json.Marshal(&r)
		return out
	})
	same("summary rewritten without its head")
	if headCurrent(t, local, finished.ID()) {
		t.Fatal("the rewritten summary's head is current before any write")
	}
	if _, err := local.Prune(Retention{KeepPerEnvironment: DefaultKeep}); err != nil {
		t.Fatal(err)
	}
	if !headCurrent(t, local, finished.ID()) {
		t.Error("pruning, which reads every head in a write, did not give the rewritten summary its head")
	}
	same("head given by Prune")
	runs, err := store.ListRuns(Filter{Status: engine.StatusFailed})
	if err != nil || len(runs) != 1 {
		t.Fatalf("the rewritten run: %v %v", runs, err)
	}

	// A damaged head beside a summary it was made from.
	rewrite(t, local, going.ID(), headKey, func(v []byte) []byte { return append(v[:4:4], "{not json"...) })
	same("damaged head")

	// A head without its step count (the first heads had none) is not used.
	rewrite(t, local, finished.ID(), headKey, func(v []byte) []byte {
		var m map[string]any
		if err := json.Unmarshal(v[4:], &m); err != nil || m["step_count"] == nil {
			t.Fatalf("the head %s: %v", v[4:], err)
		}
		delete(m, "step_count")
		m["status"] = "running"
		out, _ := json.Marshal(m)
		return append(v[:4:4], out...)
	})
	same("head without its step count")

	if err := going.Finish(); err != nil {
		t.Fatal(err)
	}
	same("both finished")
}

func rawHead(t *testing.T, s *Local, id string) (head []byte) {
	t.Helper()
	if err := s.view(func(tx *bolt.Tx) error {
		head = append(head, tx.Bucket(runsBucket).Bucket([]byte(id)).Get(headKey)...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return head
}

// listsAgree: the runs listed by their heads are those listed whole, in
// the same order, without their step records and counting them.
func listsAgree(t *testing.T, when string, store *Store) {
	t.Helper()
	whole, err := store.ListRuns(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	heads, err := store.ListHeads(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != len(whole) {
		t.Fatalf("%s: %d runs by their heads, %d whole", when, len(heads), len(whole))
	}
	for i, h := range heads {
		w := *whole[i]
		if h.Steps != nil || h.StepTotal() != len(w.Steps) {
			t.Errorf("%s: run %s listed with %d step records, counting %d; want none, counting %d", when, h.ID, len(h.Steps), h.StepTotal(), len(w.Steps))
		}
		w.Steps, w.StepCount = nil, h.StepCount
		if !reflect.DeepEqual(h, &w) {
			t.Errorf("%s: listed by its head %+v\nwhole %+v", when, h, &w)
		}
	}
}

// headCurrent: the run's head was made from its summary as it is.
func headCurrent(t *testing.T, s *Local, id string) (current bool) {
	t.Helper()
	if err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		head := b.Get(headKey)
		current = len(head) >= 4 && binary.BigEndian.Uint32(head) == crc32.Checksum(b.Get(metaKey), castagnoli)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return current
}

func headSteps(t *testing.T, s *Local, id string) int {
	t.Helper()
	var r Run
	if err := json.Unmarshal(rawHead(t, s, id)[4:], &r); err != nil {
		t.Fatal(err)
	}
	return len(r.Steps)
}

func rewrite(t *testing.T, s *Local, id string, key []byte, change func([]byte) []byte) {
	t.Helper()
	if err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		return b.Put(key, change(append([]byte(nil), b.Get(key)...)))
	}); err != nil {
		t.Fatal(err)
	}
}

// The newest run of an environment, or of any, read from the heads; an
// environment with no run says so.
func TestLatestOfAnEnvironment(t *testing.T) {
	store, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, env := range []string{"prod", "dev"} {
		rec, err := store.Start(&engine.Plan{Pipeline: "p", Environment: env}, engine.NewRedactor())
		if err != nil {
			t.Fatal(err)
		}
		rec.Event(engine.Event{Type: engine.StepFinished, Step: "a", Status: engine.StatusSucceeded})
		rec.Event(engine.Event{Type: engine.RunFinished, Status: engine.StatusSucceeded})
		if err := rec.Finish(); err != nil {
			t.Fatal(err)
		}
		ids[env] = rec.ID()
		time.Sleep(10 * time.Millisecond) // ids and starts in order
	}
	for f, want := range map[Filter]string{{}: ids["dev"], {Environment: "prod"}: ids["prod"], {Environment: "dev"}: ids["dev"]} {
		if got, err := store.LatestOf(f); err != nil || got != want {
			t.Errorf("LatestOf(%+v) = %q, %v; want %s", f, got, err, want)
		}
	}
	if _, err := store.LatestOf(Filter{Environment: "stg"}); err == nil || !strings.Contains(err.Error(), "no run of environment stg is recorded") {
		t.Errorf("LatestOf an environment without runs: %v", err)
	}
}
