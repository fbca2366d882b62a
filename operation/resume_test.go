package operation

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// incompleteRun records a run of steps a, b, c whose record failed after
// a started, with the outcomes kept beside it as keep writes them.
func incompleteRun(t *testing.T, keep func(record.OutcomeLog)) *record.Store {
	t.Helper()
	local := record.NewLocal(t.TempDir())
	if err := local.Init(); err != nil {
		t.Fatal(err)
	}
	log, err := local.KeepOutcomes("r1", 3)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := json.Marshal(&engine.Plan{Pipeline: "p", Steps: []*engine.PlannedStep{
		{Name: "a", Phase: engine.PhaseMain, Run: engine.DecisionRun},
		{Name: "b", Phase: engine.PhaseMain, Run: engine.DecisionRun},
		{Name: "c", Phase: engine.PhaseMain, Run: engine.DecisionRun},
	}})
	run := &record.Run{ID: "r1", Pipeline: "p", Started: time.Now(), Status: record.StatusRunning,
		Steps: []record.StepRecord{{Step: "a", Phase: engine.PhaseMain, Status: record.StatusRunning}}}
	if err := local.CreateRun(0, run, plan); err != nil {
		t.Fatal(err)
	}
	keep(log)
	_ = log.Close()
	if err := local.MarkIncomplete("r1", true); err != nil {
		t.Fatal(err)
	}
	return &record.Store{Backend: local}
}

// When keeping the outcomes failed too (the file filled up), the resume
// is refused and names the steps that may have run.
func TestResumeRefusedWhenKeepingOutcomesFailed(t *testing.T) {
	store := incompleteRun(t, func(log record.OutcomeLog) {
		for {
			if err := log.Append(record.Outcome{Step: "b", Phase: engine.PhaseMain, Status: record.StatusRunning}); err != nil {
				return
			}
		}
	})
	_, err := loadResumption(store, "r1")
	if err == nil || !strings.Contains(err.Error(), "keeping its step outcomes failed too") ||
		!strings.Contains(err.Error(), "Steps that may have run: a (interrupted), b (interrupted), c (not recorded)") {
		t.Errorf("resume: %v", err)
	}
}

// A step that succeeded whose value was kept nowhere would run again: the
// resume is refused, naming it.
func TestResumeRefusedWhenAValueWasNotKept(t *testing.T) {
	store := incompleteRun(t, func(log record.OutcomeLog) {
		_ = log.Append(record.Outcome{Step: "a", Phase: engine.PhaseMain, Status: engine.StatusSucceeded})
		_ = log.Append(record.Outcome{Step: "a", Phase: engine.PhaseMain, Status: engine.StatusSucceeded, Done: true, ValueNotKept: true})
	})
	_, err := loadResumption(store, "r1")
	if err == nil || !strings.Contains(err.Error(), "step a succeeded in it but what it evaluated to was not kept") ||
		!strings.Contains(err.Error(), "a (succeeded), b (not recorded), c (not recorded)") {
		t.Errorf("resume: %v", err)
	}
}

// answersOf reads a recorded run's answers to a gate, as its recorder does.
type answersOf struct {
	store *record.Store
	id    string
}

func (o answersOf) Answers(gate string) ([]engine.GateAnswer, error) {
	all, err := o.store.Answers(o.id)
	var out []engine.GateAnswer
	for _, a := range all {
		if a.Gate == gate {
			out = append(out, a.Taken())
		}
	}
	return out, err
}

// A run resuming a parked one reads the answers of both as one list that
// only grows: an answer that reaches the parked run after the resumed
// run has one of its own comes after it, so the engine, which reads by
// position, neither skips it nor reads one twice. An answer refused when
// recorded stays refused.
func TestResumedAnswersOnlyGrow(t *testing.T) {
	local := record.NewLocal(t.TempDir())
	if err := local.Init(); err != nil {
		t.Fatal(err)
	}
	store := &record.Store{Backend: local}
	plan, _ := json.Marshal(&engine.Plan{Pipeline: "p"})
	for _, id := range []string{"parked", "resumed"} {
		if err := local.CreateRun(0, &record.Run{ID: id, Pipeline: "p", Started: time.Now(), Status: record.StatusRunning}, plan); err != nil {
			t.Fatal(err)
		}
	}
	give := func(id, user, refused string) {
		t.Helper()
		a := record.NewAnswer(engine.GateAnswer{Gate: "stage.deploy", Approve: true, User: user})
		if _, err := local.AppendAnswer(id, a, func([]record.Answer) string { return refused }); err != nil {
			t.Fatal(err)
		}
	}
	answers := newResumedAnswers(answersOf{store, "resumed"}, store, []string{"parked"})
	read := func() string {
		t.Helper()
		got, err := answers.Answers("stage.deploy")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range got {
			out = append(out, a.User+map[bool]string{true: "(refused)"}[a.RefusedBefore != ""])
		}
		return strings.Join(out, ",")
	}
	give("parked", "alice", "alice started this run")
	give("parked", "bob", "")
	if got := read(); got != "alice(refused),bob" {
		t.Fatalf("answers %s, want alice(refused),bob", got)
	}
	give("resumed", "carol", "")
	if got := read(); got != "alice(refused),bob,carol" {
		t.Fatalf("answers %s, want alice(refused),bob,carol", got)
	}
	give("parked", "dave", "") // late, to the parked run
	if got := read(); got != "alice(refused),bob,carol,dave" {
		t.Fatalf("answers %s, want the late answer to the parked run after carol's: alice(refused),bob,carol,dave", got)
	}
}
