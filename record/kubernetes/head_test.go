package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// Pruning, LatestOf and ListHeads read the run objects by their heads,
// and by their summaries where a head is not of the summary it sits beside. Each head
// is told apart from its summary by the start time it gives, which decides
// what the retention policy deletes (the oldest) and which run is latest.
func TestPruneReadsHeadsNotSummaries(t *testing.T) {
	c := testClient(t, 5*time.Second)
	b := New(c, "heads", t.TempDir())
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var runs []*record.Run
	for n := range 3 {
		runs = append(runs, finishedRun(t, b, base.Add(time.Duration(n)*time.Minute)))
	}
	going := runningRun(t, b, base.Add(time.Hour))
	// Listed by their heads, the runs count their step records: the
	// finished ones' from their heads, the running one's from its journal.
	heads, err := b.ListHeads(record.Filter{})
	if err != nil || len(heads) != 4 || heads[0].ID != going {
		t.Fatalf("ListHeads: %v, %v; want 4 runs, the running one first", heads, err)
	}
	for _, h := range heads {
		if h.Steps != nil || h.StepTotal() != 1 {
			t.Errorf("run %s (%s) listed with %d step records, counting %d; want none, counting 1", h.ID, h.Status, len(h.Steps), h.StepTotal())
		}
	}
	// The oldest run's head says it is the newest (of dev).
	editRun(t, c, runs[0].ID, func(annotations map[string]string, _ map[string][]byte) {
		var h head
		if err := json.Unmarshal([]byte(annotations[annHead]), &h); err != nil {
			t.Fatalf("the run object has no head: %v", err)
		}
		if len(h.Run.Steps) != 0 || h.SummaryBytes == 0 {
			t.Errorf("head %+v: want no step records and the summary's size", h)
		}
		h.Run.Started = base.Add(time.Hour)
		j, _ := json.Marshal(h)
		annotations[annHead] = string(j)
	})
	pruned, err := b.Prune(record.Retention{KeepPerEnvironment: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := runs[1].ID; strings.Join(pruned.Deleted, " ") != want {
		t.Fatalf("deleted %v, want %s: the oldest by the heads", pruned.Deleted, want)
	}
	if latest, err := b.LatestOf(record.Filter{Environment: "dev"}); err != nil || latest != runs[0].ID {
		t.Errorf("the latest run of dev: %q, %v; want %s, the newest by the heads", latest, err, runs[0].ID)
	}

	// A pipectl without heads rewrites that run's summary (older than the
	// other's again) and keeps the annotation: the head is not used.
	editRun(t, c, runs[0].ID, func(_ map[string]string, data map[string][]byte) {
		r := *runs[0]
		r.Started = base.Add(-time.Hour)
		j, _ := json.Marshal(&r)
		z, err := gzipBytes(j)
		if err != nil {
			t.Fatal(err)
		}
		data[keySummary] = z
	})
	pruned, err = b.Prune(record.Retention{KeepPerEnvironment: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := runs[0].ID; strings.Join(pruned.Deleted, " ") != want {
		t.Errorf("deleted %v, want %s: the oldest by its summary, whose head is stale", pruned.Deleted, want)
	}
}

// finishedRun records a run of one step that succeeded, as apply does:
// under its environment's lock.
func finishedRun(t *testing.T, b *Backend, started time.Time) *record.Run {
	t.Helper()
	l, err := b.Lock(context.Background(), "dev", record.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	r := &record.Run{ID: l.RunID(), Pipeline: "heads", Environment: "dev", Started: started, Status: record.StatusRunning}
	plan, _ := json.Marshal(&engine.Plan{FormatVersion: 1, Pipeline: "heads", Environment: "dev"})
	if err := b.CreateRun(l.Token(), r, plan); err != nil {
		t.Fatal(err)
	}
	r.Status, r.Finished = engine.StatusSucceeded, started.Add(time.Second)
	r.Steps = []record.StepRecord{{Step: "a", Phase: engine.PhaseMain, Action: "std.noop", Status: engine.StatusSucceeded}}
	if _, err := b.WriteRun(r.ID, &record.Batch{Token: l.Token(), Run: r, Final: true}); err != nil {
		t.Fatal(err)
	}
	return r
}

// runningRun records a run of environment stg that goes on, its one step
// record written (a journal entry), and returns its id.
func runningRun(t *testing.T, b *Backend, started time.Time) string {
	t.Helper()
	l, err := b.Lock(context.Background(), "stg", record.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Release)
	r := &record.Run{ID: l.RunID(), Pipeline: "heads", Environment: "stg", Started: started, Status: record.StatusRunning}
	plan, _ := json.Marshal(&engine.Plan{FormatVersion: 1, Pipeline: "heads", Environment: "stg"})
	if err := b.CreateRun(l.Token(), r, plan); err != nil {
		t.Fatal(err)
	}
	step := map[int]record.StepRecord{0: {Step: "a", Phase: engine.PhaseMain, Action: "std.noop", Status: record.StatusRunning}}
	if _, err := b.WriteRun(r.ID, &record.Batch{Token: l.Token(), Run: r, Steps: step}); err != nil {
		t.Fatal(err)
	}
	b.flush(r.ID)
	return r.ID
}

// editRun changes a run object's annotations and data in place.
func editRun(t *testing.T, c *Client, id string, edit func(annotations map[string]string, data map[string][]byte)) {
	t.Helper()
	ctx := context.Background()
	s, err := c.core.Secrets(c.ns).Get(ctx, runName(id), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit(s.Annotations, s.Data)
	if _, err := c.core.Secrets(c.ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(fmt.Errorf("editing run %s: %w", id, err))
	}
}
