// Package backendtest is the contract every record.Backend passes: what
// `pipectl runs`, `approve`, `force-unlock`, `apply PLAN`, `apply -resume`
// and `runs prune` rely on, whichever backend keeps the records. A backend
// runs it from its own tests:
//
//	func TestContract(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) record.Backend { return open(t) })
//	}
//
// open returns an empty backend, fresh for each subtest. The leases it
// gives must implement Abandoner: the suite kills holders.
package backendtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/gate"
	"github.com/pipectl/pipectl/record"
)

// Abandoner is a lease that can be left as a killed process leaves it:
// held no more, its holder still named, so the lock reads as stale. A
// backend whose leases expire makes it expire.
type Abandoner interface {
	Abandon()
}

// As is the backend b as seen by user: answers given through it are
// user's. A backend that authenticates its caller (the kubernetes one)
// connects with user's own credentials; others return b.
type As func(t *testing.T, b record.Backend, user string) record.Backend

// Run runs the contract against fresh backends from open, on which
// anyone answers as whom the answer names.
func Run(t *testing.T, open func(t *testing.T) record.Backend) {
	RunAs(t, open, func(_ *testing.T, b record.Backend, _ string) record.Backend { return b })
}

// as is the suite's As.
var as As

// RunAs runs the contract against fresh backends from open; answers are
// given through as.
func RunAs(t *testing.T, open func(t *testing.T) record.Backend, by As) {
	as = by
	for _, c := range []struct {
		name string
		test func(*testing.T, record.Backend)
	}{
		{"RunsRoundTrip", testRunsRoundTrip},
		{"ListByPipelineEnvironmentStatus", testList},
		{"JournalOrderAndFollow", testJournal},
		{"Artifacts", testArtifacts},
		{"LockExclusive", testLockExclusive},
		{"ForceUnlockRecorded", testForceUnlock},
		{"EveryGateAnswerRecorded", testAnswers},
		{"ConcurrentApprovalsOneCounts", testConcurrentAnswers},
		{"SavedPlanAppliedOnce", testPlanOnce},
		{"RetentionKeepsActiveRuns", testRetentionActive},
		{"RetentionKeepsNPerEnvironment", testRetentionKeep},
		{"RetentionSizeCap", testRetentionSize},
		{"CompactWaitsForNoActiveRun", testCompact},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, open(t)) })
	}
}

// base is when the suite's runs start: one a minute after it, in order.
var base = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// running starts a run under its environment's lock, as apply does.
func running(t *testing.T, b record.Backend, pipeline, env string, n int) (*record.Run, record.Lease) {
	t.Helper()
	l, err := b.Lock(context.Background(), env, record.LockOptions{})
	if err != nil {
		t.Fatalf("lock %q: %v", env, err)
	}
	r := &record.Run{ID: l.RunID(), Pipeline: pipeline, Environment: env, Started: base.Add(time.Duration(n) * time.Minute),
		Status: record.StatusRunning, StartedBy: "alice"}
	plan, _ := json.Marshal(&engine.Plan{FormatVersion: 1, Pipeline: pipeline, Environment: env})
	if err := b.CreateRun(l.Token(), r, plan); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return r, l
}

// finished records a run that ran and ended with status.
func finished(t *testing.T, b record.Backend, pipeline, env string, n int, status engine.Status, events ...engine.Event) *record.Run {
	t.Helper()
	r, l := running(t, b, pipeline, env, n)
	defer l.Release()
	finish(t, b, r, l, status, events...)
	return r
}

func finish(t *testing.T, b record.Backend, r *record.Run, l record.Lease, status engine.Status, events ...engine.Event) {
	t.Helper()
	r.Status, r.Finished = status, r.Started.Add(30*time.Second)
	r.Steps = []record.StepRecord{{Step: "a", Phase: engine.PhaseMain, Action: "std.exec", Status: status}}
	write(t, b, r.ID, &record.Batch{Token: l.Token(), Run: r, Final: true, Events: events})
}

func write(t *testing.T, b record.Backend, id string, batch *record.Batch) {
	t.Helper()
	if _, err := b.WriteRun(id, batch); err != nil {
		t.Fatalf("WriteRun %s: %v", id, err)
	}
}

func logs(n int, text string) []engine.Event {
	out := make([]engine.Event, n)
	for i := range out {
		out[i] = engine.Event{Type: engine.StepLog, Step: "a", Message: fmt.Sprintf("%s %d", text, i)}
	}
	return out
}

func testRunsRoundTrip(t *testing.T, b record.Backend) {
	if err := b.Init(); err != nil {
		t.Fatal(err)
	}
	r, l := running(t, b, "p", "dev", 0)
	defer l.Release()
	summary := *r
	write(t, b, r.ID, &record.Batch{Token: l.Token(), Run: &summary,
		Steps:  map[int]record.StepRecord{0: {Step: "a", Phase: engine.PhaseMain, Action: "std.exec", Status: record.StatusRunning}},
		Events: []engine.Event{{Type: engine.RunStarted}, {Type: engine.StepStarted, Step: "a"}},
		Values: map[string][]byte{"a": []byte(`{"type":"string","value":"out"}`)}})
	got, plan, err := b.Show(r.ID, nil)
	if err != nil || got.Status != record.StatusRunning || len(got.Steps) != 1 || got.Steps[0].Status != record.StatusRunning {
		t.Fatalf("while running: %+v, %v", got, err)
	}
	var p engine.Plan
	if err := json.Unmarshal(plan, &p); err != nil || p.Pipeline != "p" {
		t.Errorf("the plan read back: %s, %v", plan, err)
	}
	finish(t, b, r, l, engine.StatusFailed, engine.Event{Type: engine.RunFinished, Status: engine.StatusFailed})
	got, _, err = b.Show(r.ID, nil)
	if err != nil || got.Status != engine.StatusFailed || !got.Started.Equal(r.Started) || got.StartedBy != "alice" || got.Steps[0].Status != engine.StatusFailed {
		t.Errorf("finished: %+v, %v", got, err)
	}
	values, err := b.Values(r.ID)
	if err != nil || values["a"].AsString() != "out" {
		t.Errorf("values: %v, %v", values, err)
	}
	if _, _, err := b.Show("20990101T000000Z-none", nil); err == nil {
		t.Error("a run that does not exist was shown")
	}
}

func testList(t *testing.T, b record.Backend) {
	finished(t, b, "p", "dev", 0, engine.StatusSucceeded)
	finished(t, b, "p", "prod", 1, engine.StatusFailed)
	finished(t, b, "q", "dev", 2, engine.StatusSucceeded)
	live, l := running(t, b, "p", "dev", 3)
	defer l.Release()
	for _, c := range []struct {
		f    record.Filter
		want int
	}{
		{record.Filter{}, 4},
		{record.Filter{Pipeline: "p"}, 3},
		{record.Filter{Environment: "dev"}, 3},
		{record.Filter{Pipeline: "p", Environment: "dev"}, 2},
		{record.Filter{Status: engine.StatusSucceeded}, 2},
		{record.Filter{Status: record.StatusRunning}, 1},
	} {
		list, err := b.ListRuns(c.f)
		if err != nil || len(list) != c.want {
			t.Errorf("ListRuns(%+v): %d runs, %v; want %d", c.f, len(list), err, c.want)
		}
		for i := 1; i < len(list); i++ {
			if list[i].Started.After(list[i-1].Started) {
				t.Errorf("ListRuns(%+v) is not newest first", c.f)
			}
		}
	}
	if list, _ := b.ListRuns(record.Filter{}); len(list) == 0 || list[0].ID != live.ID {
		t.Errorf("the newest run is not first")
	}
}

func testJournal(t *testing.T, b record.Backend) {
	r, l := running(t, b, "p", "dev", 0)
	var mu sync.Mutex
	var seen []string
	followed := make(chan error, 1)
	go func() {
		followed <- record.Follow(context.Background(), b, r.ID, func(e engine.Event) error {
			mu.Lock()
			seen = append(seen, e.Message)
			mu.Unlock()
			return nil
		})
	}()
	var want []string
	for i := 0; i < 5; i++ {
		batch := logs(20, fmt.Sprintf("batch %d", i))
		for _, e := range batch {
			want = append(want, e.Message)
		}
		summary := *r
		write(t, b, r.ID, &record.Batch{Token: l.Token(), Run: &summary, Events: batch})
	}
	var after uint64
	var first []string
	_, after, err := b.EventsSince(r.ID, 0, func(e engine.Event) error { first = append(first, e.Message); return nil })
	if err != nil || strings.Join(first, "\n") != strings.Join(want, "\n") {
		t.Fatalf("EventsSince(0): %d events, %v; want the %d written, in order", len(first), err, len(want))
	}
	finish(t, b, r, l, engine.StatusSucceeded, engine.Event{Message: "the end"})
	l.Release()
	var rest []string
	run, _, err := b.EventsSince(r.ID, after, func(e engine.Event) error { rest = append(rest, e.Message); return nil })
	if err != nil || len(rest) != 1 || rest[0] != "the end" || run.Status != engine.StatusSucceeded {
		t.Errorf("EventsSince(%d): %v, %v, run %v", after, rest, err, run)
	}
	select {
	case err := <-followed:
		mu.Lock()
		defer mu.Unlock()
		if err != nil || strings.Join(seen, "\n") != strings.Join(append(want, "the end"), "\n") {
			t.Errorf("Follow saw %d events, %v; want every one once, in order", len(seen), err)
		}
	case <-time.After(time.Minute): // a bound on a hang only
		t.Fatal("Follow did not end when the run did")
	}
}

func testArtifacts(t *testing.T, b record.Backend) {
	r, l := running(t, b, "p", "dev", 0)
	defer l.Release()
	summary := *r
	write(t, b, r.ID, &record.Batch{Token: l.Token(), Run: &summary, Artifacts: []record.PendingArtifact{
		{Meta: record.Artifact{Seq: 1, Step: "scan", Name: "report.json", MediaType: "application/json", Size: 7}, Data: []byte(`{"a":1}`)},
		{Meta: record.Artifact{Seq: 2, Step: "scan", Name: "big.bin", Size: 1 << 30, NotKept: "too big"}},
	}})
	write(t, b, r.ID, &record.Batch{Token: l.Token(), Run: &summary, Artifacts: []record.PendingArtifact{
		{Meta: record.Artifact{Seq: 3, Step: "deploy", Name: "notes.txt", Size: 5}, Data: []byte("hello")},
	}})
	list, err := b.Artifacts(r.ID)
	if err != nil || len(list) != 3 || list[0].Name != "report.json" || list[1].Kept() || list[2].Step != "deploy" {
		t.Fatalf("artifacts: %+v, %v", list, err)
	}
	for seq, want := range map[uint64]string{1: `{"a":1}`, 2: "", 3: "hello"} {
		if data, err := b.ArtifactData(r.ID, seq); err != nil || string(data) != want {
			t.Errorf("artifact %d: %q, %v; want %q", seq, data, err, want)
		}
	}
}

func testLockExclusive(t *testing.T, b record.Backend) {
	ctx := context.Background()
	const n = 8
	leases := make(chan record.Lease, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l, err := b.Lock(ctx, "dev", record.LockOptions{User: "alice"}); err == nil {
				leases <- l
			} else if !errors.Is(err, record.ErrLocked) {
				t.Errorf("a refused lock: %v, want record.ErrLocked", err)
			}
		}()
	}
	wg.Wait()
	close(leases)
	var held []record.Lease
	for l := range leases {
		held = append(held, l)
	}
	if len(held) != 1 {
		t.Fatalf("%d of %d concurrent locks of one environment were taken, want 1", len(held), n)
	}
	dev := held[0]
	var locked *record.LockedError
	if _, err := b.Lock(ctx, "dev", record.LockOptions{Timeout: 50 * time.Millisecond}); !errors.As(err, &locked) || locked.Holder.Run != dev.RunID() {
		t.Errorf("a second lock of dev: %v; want a LockedError naming run %s", err, dev.RunID())
	}
	h := dev.Holder()
	if h.Run != dev.RunID() || h.PID != os.Getpid() || h.Host == "" || h.User != "alice" || h.Environment != "dev" {
		t.Errorf("the holder: %+v", h)
	}
	prod, err := b.Lock(ctx, "prod", record.LockOptions{})
	if err != nil {
		t.Fatalf("prod is locked by dev's lock: %v", err)
	}
	prod.Release()
	dev.Release()
	again, err := b.Lock(ctx, "dev", record.LockOptions{})
	if err != nil {
		t.Fatalf("dev after its release: %v", err)
	}
	again.Release()
}

func testForceUnlock(t *testing.T, b record.Backend) {
	ctx := context.Background()
	r, l := running(t, b, "p", "dev", 0)
	if _, err := b.StaleLock(r.ID); err == nil {
		t.Error("the lock of a live run was offered to force-unlock")
	}
	abandon(t, l)
	var locked *record.LockedError
	if _, err := b.Lock(ctx, "dev", record.LockOptions{}); !errors.As(err, &locked) || !locked.Stale || locked.Holder.Run != r.ID {
		t.Fatalf("a lock left by a killed run: %v; want a stale LockedError naming %s", err, r.ID)
	}
	if run, _, err := b.Show(r.ID, nil); err != nil || run.Status != record.StatusInterrupted {
		t.Errorf("the killed run reads as %+v, %v; want interrupted", run, err)
	}
	stale, err := b.StaleLock(r.ID)
	if err != nil || stale.Holder.Run != r.ID || stale.Environment != "dev" {
		t.Fatalf("StaleLock: %+v, %v", stale, err)
	}
	inRecord, err := b.ForceUnlock(stale, "erin", "the runner was lost")
	if err != nil || !inRecord {
		t.Fatalf("ForceUnlock: %v, %v", inRecord, err)
	}
	run, _, err := b.Show(r.ID, nil)
	if err != nil || run.ForceUnlocked == nil {
		t.Fatalf("the run does not record the force-unlock: %+v, %v", run, err)
	}
	u := run.ForceUnlocked
	if u.Reason != "the runner was lost" || !strings.HasPrefix(u.By, "erin@") || u.PID != os.Getpid() || u.At.IsZero() || u.Holder.Run != r.ID {
		t.Errorf("the force-unlock as recorded: %+v", u)
	}
	next, err := b.Lock(ctx, "dev", record.LockOptions{})
	if err != nil {
		t.Fatalf("dev after force-unlock: %v", err)
	}
	next.Release()
}

func abandon(t *testing.T, l record.Lease) {
	t.Helper()
	a, ok := l.(Abandoner)
	if !ok {
		t.Fatalf("the backend's lease %T does not implement backendtest.Abandoner", l)
	}
	a.Abandon()
}

// approvalRun is a run waiting at stage.deploy for two of approvers.
func approvalRun(t *testing.T, b record.Backend, approvers ...string) (*record.Run, record.Lease) {
	t.Helper()
	l, err := b.Lock(context.Background(), "prod", record.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &record.Run{ID: l.RunID(), Pipeline: "p", Environment: "prod", Started: base, Status: record.StatusRunning, StartedBy: "alice",
		Gates: []record.GateRecord{{Gate: "stage.deploy", Kind: "approval", Status: record.GateStatusWaiting, Since: base}}}
	plan, _ := json.Marshal(&engine.Plan{FormatVersion: 1, Pipeline: "p", Environment: "prod",
		Gates: []*engine.PlannedGate{{Gate: "stage.deploy", Approval: &engine.PlannedApproval{Approvers: approvers, MinApprovals: 2}}}})
	if err := b.CreateRun(l.Token(), r, plan); err != nil {
		t.Fatal(err)
	}
	return r, l
}

// answerChecked records an answer at stage.deploy as pipectl approve
// does: the gate's rule checks it against the answers before it, in the
// same write.
func answerChecked(b record.Backend, r *record.Run, approvers []string, user string, approve bool) (record.Answer, error) {
	given := gate.Answer{Gate: "stage.deploy", User: user, Approve: approve, Reason: "because"}
	return b.AppendAnswer(r.ID, record.NewAnswer(given), func(prior []record.Answer) string {
		tally := &gate.Tally{Rule: gate.Rule{Approvers: approvers, MinApprovals: 2}, StartedBy: r.StartedBy}
		for _, a := range prior {
			tally.Take(a.GateAnswer)
		}
		if why := tally.Check(given); why != nil {
			return why.Message
		}
		return ""
	})
}

func testAnswers(t *testing.T, b record.Backend) {
	approvers := []string{"alice", "bob", "carol"}
	r, l := approvalRun(t, b, approvers...)
	defer l.Release()
	answer := func(user string, approve bool) (string, error) {
		a, err := answerChecked(as(t, b, user), r, approvers, user, approve)
		return a.Refused, err
	}
	if refused, err := answer("bob", true); err != nil || refused != "" {
		t.Fatalf("bob's approval: %v, refused %q", err, refused)
	}
	for _, c := range []struct{ user, why string }{
		{"mallory", "not one of the approvers"},
		{"alice", "started this run"},
		{"bob", "already approved"},
	} {
		if refused, err := answer(c.user, true); err != nil || !strings.Contains(refused, c.why) {
			t.Errorf("%s's approval: %v, refused %q; want refused: %s", c.user, err, refused, c.why)
		}
	}
	if refused, err := answer("carol", false); err != nil || refused != "" {
		t.Fatalf("carol's rejection: %v, refused %q", err, refused)
	}
	all, err := b.Answers(r.ID)
	if err != nil || len(all) != 5 {
		t.Fatalf("%d answers recorded, %v; want all 5, refused ones too", len(all), err)
	}
	wantRefused := []string{"", "not one of the approvers", "started this run", "already approved", ""}
	for i, a := range all {
		if a.Gate != "stage.deploy" || a.User == "" || a.Time.IsZero() || a.Host == "" || a.PID != os.Getpid() || a.Reason != "because" ||
			a.UID != strconv.Itoa(os.Getuid()) || a.Format != record.AnswerFormat {
			t.Errorf("answer %d lacks who, when or from where: %+v", i, a)
		}
		if !strings.Contains(a.Refused, wantRefused[i]) || (wantRefused[i] == "") != (a.Refused == "") {
			t.Errorf("answer %d by %s: refused %q, want %q", i, a.User, a.Refused, wantRefused[i])
		}
	}
	if all[4].Approve || all[4].User != "carol" {
		t.Errorf("the last answer: %+v, want carol's rejection", all[4])
	}
}

func testConcurrentAnswers(t *testing.T, b record.Backend) {
	approvers := []string{"bob", "carol"}
	r, l := approvalRun(t, b, approvers...)
	defer l.Release()
	const n = 8
	bob := as(t, b, "bob")
	var wg sync.WaitGroup
	var counted sync.Map
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := answerChecked(bob, r, approvers, "bob", true)
			if err != nil {
				t.Errorf("approval %d: %v", i, err)
			} else if a.Refused == "" {
				counted.Store(i, true)
			}
		}()
	}
	wg.Wait()
	ok := 0
	counted.Range(func(any, any) bool { ok++; return true })
	all, err := b.Answers(r.ID)
	refused := 0
	for _, a := range all {
		if a.Refused != "" {
			refused++
		}
	}
	if ok != 1 || err != nil || len(all) != n || refused != n-1 {
		t.Errorf("%d concurrent approvals by one person: %d counted, %d recorded (%d refused), %v; want 1 counted, all recorded", n, ok, len(all), refused, err)
	}
}

func testPlanOnce(t *testing.T, b record.Backend) {
	if run, since, err := b.PlanApplied("never"); err != nil || run != "" || since.After(time.Now()) {
		t.Errorf("an empty backend: %q since %s, %v; want none, since a time not to come", run, since, err)
	}
	r := finished(t, b, "p", "dev", 0, engine.StatusSucceeded)
	if err := b.MarkPlanApplied("h1", r.ID); err != nil {
		t.Fatal(err)
	}
	var again *record.PlanAppliedError
	if err := b.MarkPlanApplied("h1", "other"); !errors.As(err, &again) || again.Run != r.ID {
		t.Errorf("a second mark: %v; want a PlanAppliedError naming %s", err, r.ID)
	}
	run, since, err := b.PlanApplied("h1")
	if err != nil || run != r.ID || since.After(time.Now()) {
		t.Errorf("PlanApplied: %q since %s, %v", run, since, err)
	}
	const n = 8
	var wg sync.WaitGroup
	var marked sync.Map
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.MarkPlanApplied("h2", fmt.Sprint("run", i)); err == nil {
				marked.Store(i, true)
			} else if !errors.As(err, new(*record.PlanAppliedError)) {
				t.Errorf("mark %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	ok := 0
	marked.Range(func(any, any) bool { ok++; return true })
	if ok != 1 {
		t.Errorf("%d of %d concurrent marks of one plan succeeded, want 1", ok, n)
	}
	if _, err := b.Prune(record.Retention{KeepPerEnvironment: 1, MaxBytes: 1}); err != nil {
		t.Fatal(err)
	}
	if run, _, err := b.PlanApplied("h1"); err != nil || run != r.ID {
		t.Errorf("after the run was pruned: %q, %v; the mark must stay", run, err)
	}
}

func testRetentionActive(t *testing.T, b record.Backend) {
	old, l := running(t, b, "p", "dev", 0)
	defer l.Release()
	parked, pl := running(t, b, "p", "staging", 1) // waits at a gate, its process gone
	parked.Gates = []record.GateRecord{{Gate: "stage.deploy", Kind: "approval", Status: record.GateStatusWaiting, Since: base}}
	write(t, b, parked.ID, &record.Batch{Token: pl.Token(), Run: parked})
	abandon(t, pl)
	for i := 2; i < 6; i++ {
		finished(t, b, "p", "test", i, engine.StatusSucceeded, logs(50, "x")...)
	}
	pruned, err := b.Prune(record.Retention{KeepPerEnvironment: 1, MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range pruned.Deleted {
		if id == old.ID || id == parked.ID {
			t.Errorf("Prune deleted active run %s", id)
		}
	}
	for _, id := range []string{old.ID, parked.ID} {
		if _, _, err := b.Show(id, nil); err != nil {
			t.Errorf("active run %s: %v", id, err)
		}
	}
	if len(pruned.Deleted) != 4 || pruned.Kept != 2 {
		t.Errorf("under a 1-byte cap: deleted %v, kept %d; want the 4 finished runs gone, the 2 active kept", pruned.Deleted, pruned.Kept)
	}
}

func testRetentionKeep(t *testing.T, b record.Backend) {
	var dev, prod []*record.Run
	for i := 0; i < 4; i++ {
		dev = append(dev, finished(t, b, "p", "dev", 2*i, engine.StatusSucceeded))
		if i < 3 {
			prod = append(prod, finished(t, b, "p", "prod", 2*i+1, engine.StatusFailed))
		}
	}
	pruned, err := b.Prune(record.Retention{KeepPerEnvironment: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dev[0].ID, prod[0].ID, dev[1].ID} // oldest first
	if strings.Join(pruned.Deleted, " ") != strings.Join(want, " ") || pruned.Kept != 4 {
		t.Errorf("deleted %v, kept %d; want %v deleted, 4 kept", pruned.Deleted, pruned.Kept, want)
	}
	for _, keep := range []record.Filter{{Environment: "dev"}, {Environment: "prod"}} {
		if list, _ := b.ListRuns(keep); len(list) != 2 {
			t.Errorf("%s: %d runs left, want 2", keep.Environment, len(list))
		}
	}
}

func testRetentionSize(t *testing.T, b record.Backend) {
	var runs []*record.Run
	for i := 0; i < 5; i++ {
		runs = append(runs, finished(t, b, "p", "dev", i, engine.StatusSucceeded, logs(200, strings.Repeat("x", 300))...))
	}
	all, err := b.Prune(record.Retention{MaxBytes: 1 << 40})
	if err != nil || len(all.Deleted) != 0 || all.Kept != 5 || all.Bytes < 5*200*300 {
		t.Fatalf("Prune under a cap above everything: %+v, %v; want nothing deleted, the size of 5 runs of 60 kB", all, err)
	}
	limit := all.Bytes*2/5 + all.Bytes/50 // room for 2 runs, not 3
	pruned, err := b.Prune(record.Retention{MaxBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	if pruned.Bytes > limit || pruned.Kept != 2 {
		t.Errorf("under a cap of %d bytes: %d runs, %d bytes kept", limit, pruned.Kept, pruned.Bytes)
	}
	left, _ := b.ListRuns(record.Filter{})
	if len(left) != 2 || left[0].ID != runs[4].ID || left[1].ID != runs[3].ID {
		t.Errorf("the size cap kept %d runs, not the 2 newest", len(left))
	}
}

func testCompact(t *testing.T, b record.Backend) {
	for i := 0; i < 4; i++ {
		finished(t, b, "p", "dev", i, engine.StatusSucceeded, logs(200, strings.Repeat("y", 300))...)
	}
	r, l := running(t, b, "p", "prod", 5)
	if _, err := b.Compact(context.Background()); !errors.Is(err, record.ErrActive) {
		t.Errorf("Compact while run %s goes on: %v; want record.ErrActive", r.ID, err)
	}
	finish(t, b, r, l, engine.StatusSucceeded, logs(3, "kept")...)
	l.Release()
	if _, err := b.Prune(record.Retention{KeepPerEnvironment: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := b.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.After > c.Before {
		t.Errorf("compaction grew the record: %d → %d bytes", c.Before, c.After)
	}
	var got []string
	if _, _, err := b.Show(r.ID, func(e engine.Event) error { got = append(got, e.Message); return nil }); err != nil || len(got) != 3 {
		t.Errorf("after compaction, run %s has %d events, %v", r.ID, len(got), err)
	}
	next, err := b.Lock(context.Background(), "dev", record.LockOptions{})
	if err != nil {
		t.Fatalf("after compaction, dev cannot be locked: %v", err)
	}
	next.Release()
}
