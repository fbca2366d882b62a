package main_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/internal/report"
	"github.com/pipectl/pipectl/record"
)

// A failed and rolled-back run, told three ways — `runs show -json`, the
// report's step table, and run.* as its finally step read it — says the
// same of every step: they all come from one fold of the run's events
// (v1.Summary).
func TestRunsShowReportAndRunReferencesAgree(t *testing.T) {
	p := newProjectFrom(t, "testdata/rolledback/pipeline.hcl")
	if out, errOut, code := p.run("apply", "-auto-approve", "-no-color"); code != 5 {
		t.Fatalf("apply: exit %d, want 5 (failed, restored)\n%s%s", code, out, errOut)
	}
	out, errOut, code := p.run("runs", "show", "latest", "-json")
	if code != 0 {
		t.Fatalf("runs show: exit %d\n%s", code, errOut)
	}
	var shown struct {
		Status, Outcome string
		Steps           []struct {
			Step, Instance, Status, Message string
			Attempts                        int
			Outputs                         map[string]any
		}
	}
	for line := range strings.Lines(out) {
		if strings.Contains(line, `"type":"run"`) {
			if err := json.Unmarshal([]byte(line), &shown); err != nil {
				t.Fatal(err)
			}
		}
	}
	if shown.Status != "failed" || shown.Outcome != "restored" {
		t.Fatalf("runs show: run %s, outcome %s; want failed, restored\n%s", shown.Status, shown.Outcome, out)
	}

	// runs show: every instance's status; run.*: every step's, read by summary.
	instances := map[string]string{} // instance name → status
	attempts := map[string]int{}     // instance name → attempts
	byStep := map[string][]string{}  // step → its instances' statuses
	var failed []string              // instances that failed the run
	var runRefs map[string]any
	for _, s := range shown.Steps {
		name := v1.StepAddr(s.Step).Instance(s.Instance).Name()
		instances[name] = s.Status
		attempts[name] = s.Attempts
		byStep[s.Step] = append(byStep[s.Step], s.Status)
		if s.Status == "failed" {
			failed = append(failed, "step."+name)
		}
		if s.Step == "summary" {
			runRefs, _ = s.Outputs["inputs"].(map[string]any)
		}
	}
	want := map[string]string{"compile": "succeeded", `scan["api"]`: "succeeded", `scan["web"]`: "failed_continued",
		"release": "succeeded", `rollout["eu"]`: "succeeded", `rollout["us"]`: "failed", "verify": "not_run",
		"rollback": "succeeded", "notify": "succeeded", "summary": "succeeded"}
	for name, st := range want {
		if instances[name] != st {
			t.Errorf("runs show: %s is %q, want %q", name, instances[name], st)
		}
	}
	if len(instances) != len(want) {
		t.Errorf("runs show: %d instances, want %d: %v", len(instances), len(want), instances)
	}

	// run.*: each step as bad as its worst instance, as runs show has them.
	if len(runRefs) != len(byStep) {
		t.Errorf("run.steps has %d steps, runs show %d: %v", len(runRefs), len(byStep), runRefs)
	}
	for step, statuses := range byStep {
		ref, _ := runRefs[step].(map[string]any)
		if step == "summary" { // it reads run.* before it finishes itself
			if ref["status"] != "pending" {
				t.Errorf("run.steps.summary.status = %v, want pending", ref["status"])
			}
			continue
		}
		if got, want := ref["status"], stepStatus(statuses); got != want {
			t.Errorf("run.steps.%s.status = %v, runs show says %s (%v)", step, got, want, statuses)
		}
	}
	for _, s := range shown.Steps {
		if s.Step == "rollout" && s.Status == "failed" {
			errText, _ := runRefs["rollout"].(map[string]any)["error"].(string)
			if want := `rollout["us"]: ` + s.Message; errText != want || !strings.Contains(want, "no capacity in us") {
				t.Errorf("run.steps.rollout.error = %q, runs show says %q", errText, want)
			}
		}
	}
	for _, s := range shown.Steps {
		if s.Step == "notify" {
			got := s.Outputs["inputs"]
			var addrs []string
			for _, a := range got.([]any) {
				addrs = append(addrs, a.(string))
			}
			if !slices.Equal(addrs, failed) {
				t.Errorf("run.failed_steps = %v, runs show's failed instances %v", addrs, failed)
			}
		}
	}

	// The report's step table: the same instances with the same statuses.
	store, err := record.OpenExisting(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("runs: %v, %v", list, err)
	}
	rep, err := report.FromStore(store, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string]string{}
	for _, s := range rep.Steps {
		reported[s.Label()] = s.Status
		if n := attempts[s.Label()]; len(s.Attempts) != n {
			t.Errorf("the report shows %d attempts of %s, runs show %d", len(s.Attempts), s.Label(), n)
		}
		if last := len(s.Attempts) - 1; last >= 0 && !strings.HasPrefix(s.Attempts[last].Outcome, s.Status) {
			t.Errorf("the report's last attempt of %s ended %q, the step %s", s.Label(), s.Attempts[last].Outcome, s.Status)
		}
	}
	if attempts[`rollout["us"]`] != 2 {
		t.Errorf(`runs show: rollout["us"] made %d attempts, want 2 (retry)`, attempts[`rollout["us"]`])
	}
	for name, st := range instances {
		if reported[name] != st {
			t.Errorf("the report says %s %q, runs show %q", name, reported[name], st)
		}
	}
	for name, st := range reported {
		if _, ok := instances[name]; !ok {
			t.Errorf("the report lists %s (%s), runs show does not", name, st)
		}
	}
}

// stepStatus is a step's status from its instances': the one they share,
// else failed when one failed.
func stepStatus(statuses []string) string {
	if slices.Contains(statuses, "failed") {
		return "failed"
	}
	if slices.Contains(statuses, "failed_continued") {
		return "failed_continued"
	}
	return statuses[0]
}
