package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A pipeline whose deploy stage waits for approval, then renders a file.
func parkedPipeline(timeout string) string { return parkedPipelineWith(timeout, "") }

// parkedPipelineWith is parkedPipeline with more of the approval block
// (rule: "allow_self_approval = false", ...).
func parkedPipelineWith(timeout, rule string) string {
	return fmt.Sprintf(`
pipeline "parked" {}
stage "build" {
  step "compile" { action = std.noop }
}
stage "deploy" {
  depends_on = [stage.build]
  approval {
    message = "Deploy?"
    timeout = %q
    %s
  }
  step "config" {
    action  = std.render
    output  = "config.txt"
    content = "v2\n"
  }
}
`, timeout, rule)
}

// parkedRun is what runs show -json says of a run.
type parkedRun struct {
	ID, Status    string
	ResumedFrom   string `json:"resumed_from"`
	ForceUnlocked *struct {
		By, Reason  string
		TakenOverBy string `json:"taken_over_by"`
	} `json:"force_unlocked"`
	TookOver *struct {
		Run      string
		ParkedAt string `json:"parked_at"`
	} `json:"took_over"`
	StartedBy string `json:"started_by"`
	ResumedBy string `json:"resumed_by"`
	Gates     []struct {
		Gate, Status string
		Answers      []struct{ User, Decision string }
	}
	Steps []struct {
		Step, Instance, Status, Message string
		Attempts                        int
	}
}

// answersAt lists a run's answers at its first gate as user:decision.
func (r parkedRun) answersAt() string {
	if len(r.Gates) == 0 {
		return ""
	}
	var out []string
	for _, a := range r.Gates[0].Answers {
		out = append(out, a.User+":"+a.Decision)
	}
	return strings.Join(out, ",")
}

func showRun(t *testing.T, p *project, id string) parkedRun {
	t.Helper()
	out, errOut, code := p.run("runs", "show", id, "-json")
	if code != 0 {
		t.Fatalf("runs show %s: %d\n%s", id, code, errOut)
	}
	var list []parkedRun
	if err := runsJSON(out, &list); err != nil || len(list) != 1 {
		t.Fatalf("runs show -json: %v\n%s", err, out)
	}
	return list[0]
}

// parkRun applies with -park and returns the parked run's id.
func parkRun(t *testing.T, p *project) string {
	t.Helper()
	out, errOut, code := p.as("alice", "apply", "-auto-approve", "-park")
	if code != 8 {
		t.Fatalf("apply -park: exit %d, want 8 (parked)\n%s%s", code, out, errOut)
	}
	run := onlyRecordedRun(t, p)
	if run.Status != "parked" || run.steps["compile"] != "succeeded" || run.steps["config"] != "not_run" {
		t.Fatalf("the parked run is recorded as %s, steps %v", run.Status, run.steps)
	}
	for _, want := range []string{"Parked at stage.deploy, waiting for approval", "pipectl approve " + run.ID, "pipectl apply -resume " + run.ID} {
		if !strings.Contains(out, want) {
			t.Errorf("apply -park does not say %q:\n%s", want, out)
		}
	}
	if list, _, _ := p.run("runs"); !strings.Contains(list, "parked at stage.deploy") {
		t.Errorf("runs does not say where the run is parked:\n%s", list)
	}
	return run.ID
}

// apply -park ends at the waiting gate with exit 8; the environment stays
// locked for the run, with no process: another apply is refused, naming
// the run and how to reject it. Approved, apply -resume in another
// process takes the lock over (recorded) and deploys, without running
// again what ran before the gate.
func TestParkedRunIsApprovedAndResumed(t *testing.T) {
	p := newProject(t, parkedPipeline("1h"))
	id := parkRun(t, p)
	if g := showRun(t, p, id).Gates; len(g) != 1 || g[0].Status != "waiting" {
		t.Fatalf("the parked run's gate: %+v, want stage.deploy waiting", g)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "config.txt")); err == nil {
		t.Fatal("the step behind the gate ran")
	}

	_, errOut, code := p.as("carol", "apply", "-auto-approve")
	if code != 1 || !strings.Contains(errOut, "parked at stage.deploy") || !strings.Contains(errOut, "pipectl reject "+id) {
		t.Fatalf("an apply while the run is parked: exit %d, want it refused naming the run and the reject command\n%s", code, errOut)
	}

	if out, errOut, code := p.as("bob", "approve", id, "-yes"); code != 0 {
		t.Fatalf("approve the parked run: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := p.as("dave", "apply", "-resume", id)
	if code != 0 {
		t.Fatalf("apply -resume of the approved parked run: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(p.dir, "config.txt")); string(got) != "v2\n" {
		t.Fatalf("the resumed run did not deploy: config.txt %q", got)
	}
	resumed := newestRun(t, p)
	if list, _, _ := p.run("runs"); !strings.Contains(list, "parked, resumed by "+resumed) {
		t.Errorf("runs does not say the parked run was resumed:\n%s", list)
	}
	r := showRun(t, p, resumed)
	if r.Status != "succeeded" || r.ResumedFrom != id || r.TookOver == nil || r.TookOver.Run != id || r.TookOver.ParkedAt != "stage.deploy" {
		t.Fatalf("the resumed run's record: %+v, want succeeded, resumed from %s, took over its parked lock", r, id)
	}
	for _, s := range r.Steps {
		if s.Step == "compile" && !strings.Contains(s.Message, "not run again") {
			t.Errorf("the resume ran compile again: %+v", s)
		}
	}
	// The parked run's own record says who took its lock, as on a cluster.
	if u := showRun(t, p, id).ForceUnlocked; u == nil || !strings.HasPrefix(u.By, "dave@") || !strings.Contains(u.Reason, "taken over by run "+resumed) ||
		u.TakenOverBy != resumed {
		t.Errorf("the parked run's record does not say its lock was taken over by %s: %+v", resumed, u)
	}
	if show, _, _ := p.run("runs", "show", id); !strings.Contains(show, "Its lock was taken over by dave@") || !strings.Contains(show, "(run "+resumed+", apply -resume)") {
		t.Errorf("runs show of the parked run does not say its lock was taken over:\n%s", show)
	}
	if _, errOut, code := p.as("carol", "apply", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("an apply after the resumed run ended: exit %d, want 8 (it parks at the gate)\n%s", code, errOut)
	}
}

// A resume that finds the gate unanswered waits for the answer (or, with
// -park, parks again, exit 8); a rejection ends the run at the gate.
func TestParkedRunResumedBeforeItsAnswer(t *testing.T) {
	p := newProject(t, parkedPipeline("1h"))
	id := parkRun(t, p)
	if out, errOut, code := p.as("dave", "apply", "-resume", id, "-park"); code != 8 || !strings.Contains(out, "Parked at stage.deploy") {
		t.Fatalf("apply -resume -park of an unanswered parked run: exit %d, want 8\n%s%s", code, out, errOut)
	}
	again := newestRun(t, p)
	if _, errOut, code := p.as("bob", "reject", again, "-reason", "not today"); code != 0 {
		t.Fatalf("reject the parked run: exit %d\n%s", code, errOut)
	}
	out, errOut, code := p.as("dave", "apply", "-resume", again)
	if code != 6 || !strings.Contains(out+errOut, "rejected by bob") {
		t.Fatalf("apply -resume of a rejected parked run: exit %d, want 6 (a gate stopped it)\n%s%s", code, out, errOut)
	}
	if _, errOut, code := p.as("carol", "apply", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("the lock was not freed by the run that ended at the gate: exit %d\n%s", code, errOut)
	}
}

// A parked gate's timeout runs while no process watches it: past it an
// approval is refused, and the resume says the gate timed out while the
// run was parked, fails at the gate and frees the environment.
func TestParkedRunPastItsGateTimeout(t *testing.T) {
	p := newProject(t, parkedPipeline("2s"))
	id := parkRun(t, p)
	time.Sleep(2500 * time.Millisecond)
	if _, errOut, code := p.as("bob", "approve", id, "-yes"); code != 1 || !strings.Contains(errOut, "the gate timed out") {
		t.Fatalf("approve past the parked gate's deadline: exit %d\n%s", code, errOut)
	}
	out, errOut, code := p.as("dave", "apply", "-resume", id)
	if code != 6 || !strings.Contains(out+errOut, "passed while run "+id+" was parked there") {
		t.Fatalf("apply -resume past the deadline: exit %d, want 6 saying the gate timed out while parked\n%s%s", code, out, errOut)
	}
	if _, errOut, code := p.as("carol", "apply", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("the environment was not freed: exit %d\n%s", code, errOut)
	}
}

// newestRun is the id of the newest run in the project's record.
func newestRun(t *testing.T, p *project) string {
	t.Helper()
	out, errOut, code := p.run("runs", "-json")
	if code != 0 {
		t.Fatalf("runs: %s", errOut)
	}
	var list []struct{ ID string }
	if err := runsJSON(out, &list); err != nil || len(list) == 0 {
		t.Fatalf("runs -json: %v\n%s", err, out)
	}
	return list[0].ID
}

// on_waiting tells the approvers when a gate starts waiting: its webhook
// carries the run id, the plan summary and the commands, sent before a
// parked apply ends. It does not run for a gate approved ahead.
func TestOnWaitingWebhookTellsTheApprovers(t *testing.T) {
	got := make(chan map[string]any, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer srv.Close()
	p := newProject(t, parkedPipeline("1h")+`
variable "hook" {
  type      = string
  sensitive = true
}
on_waiting {
  step "tell" {
    action = std.webhook
    url    = var.hook
    text   = "${gate.address} of run ${run.id} waits: ${gate.approve_command}"
    payload = {
      run     = run.id
      plan    = gate.plan_summary
      approve = gate.approve_command
      resume  = gate.resume_command
      parked  = gate.parked
      until   = gate.until
    }
  }
}
`)
	p.env = append(p.env, "PIPECTL_VAR_hook="+srv.URL)
	out, errOut, code := p.run("plan")
	if code != 0 || !strings.Contains(out, "On waiting at an approval gate") || !strings.Contains(out, "tell") {
		t.Fatalf("plan does not show the on_waiting step: exit %d\n%s%s", code, out, errOut)
	}
	id := parkRun(t, p)
	var m map[string]any
	select {
	case m = <-got:
	default:
		t.Fatal("the parked apply ended without calling the on_waiting webhook")
	}
	want := map[string]string{"run": id, "approve": "pipectl approve " + id, "resume": "pipectl apply -resume " + id, "parked": "true",
		"text": "stage.deploy of run " + id + " waits: pipectl approve " + id}
	for k, v := range want {
		if fmt.Sprint(m[k]) != v {
			t.Errorf("webhook %s = %v, want %s", k, m[k], v)
		}
	}
	if plan := fmt.Sprint(m["plan"]); !strings.Contains(plan, "pipeline parked") || !strings.Contains(plan, "to change (config)") {
		t.Errorf("webhook plan summary %q does not say what the run changes", plan)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(m["until"])); err != nil {
		t.Errorf("webhook until %v is not the gate's deadline: %v", m["until"], err)
	}
	if r := showRun(t, p, id); !hasStep(r, "tell", "succeeded") {
		t.Errorf("the on_waiting step is not recorded as succeeded: %+v", r.Steps)
	}

	if _, errOut, code := p.as("bob", "approve", id, "-yes"); code != 0 {
		t.Fatalf("approve: %d\n%s", code, errOut)
	}
	if out, errOut, code := p.as("dave", "apply", "-resume", id); code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case m := <-got:
		t.Errorf("the resume, whose gate was answered, told the approvers again: %v", m)
	default:
	}
}

func hasStep(r parkedRun, step, status string) bool {
	for _, s := range r.Steps {
		if s.Step == step && s.Status == status {
			return true
		}
	}
	return false
}

// force-unlock breaks a parked lock, freeing the environment for the
// next apply.
func TestParkedLockIsForceUnlocked(t *testing.T) {
	p := newProject(t, parkedPipeline("1h"))
	id := parkRun(t, p)
	if out, errOut, code := p.run("force-unlock", id, "-force", "-reason", "release cancelled"); code != 0 {
		t.Fatalf("force-unlock of a parked lock: exit %d\n%s%s", code, out, errOut)
	}
	// A force-unlock is not a takeover, though the run it broke was parked.
	if u := showRun(t, p, id).ForceUnlocked; u == nil || u.TakenOverBy != "" || u.Reason != "release cancelled" {
		t.Errorf("the force-unlocked parked run's record: %+v, want a force-unlock with no taking-over run", u)
	}
	if show, _, _ := p.run("runs", "show", id); strings.Contains(show, "taken over") || !strings.Contains(show, "broke the lock (pipectl force-unlock)") {
		t.Errorf("runs show calls a force-unlock of a parked run a takeover:\n%s", show)
	}
	if _, errOut, code := p.as("carol", "apply", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("an apply after the force-unlock: exit %d\n%s", code, errOut)
	}
}

// Four eyes holds across resumes: the run that resumes a parked one
// refuses who started the first run, not who resumed it. Alice's refused
// approval of her own parked run stays refused when Bob resumes it, and
// she cannot approve the resumed run either; Bob, who only resumed it,
// may approve it, and his approval releases the deploy.
func TestFourEyesHoldsAcrossResumes(t *testing.T) {
	p := newProject(t, parkedPipelineWith("1h", "allow_self_approval = false"))
	id := parkRun(t, p)
	if _, errOut, code := p.as("alice", "approve", id, "-yes"); code != 1 || !strings.Contains(errOut, "alice started this run and cannot approve it") {
		t.Fatalf("alice approving her own parked run: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := p.as("bob", "apply", "-resume", id, "-park"); code != 8 {
		t.Fatalf("bob's resume counted alice's refused approval: exit %d, want 8 (parked again)\n%s%s", code, out, errOut)
	}
	again := newestRun(t, p)
	r := showRun(t, p, again)
	if r.StartedBy != "alice" || r.ResumedBy != "bob" || r.answersAt() != "alice:refused" {
		t.Fatalf("the resumed run: started by %q, resumed by %q, answers %q; want alice, bob, alice:refused", r.StartedBy, r.ResumedBy, r.answersAt())
	}
	if show, _, _ := p.run("runs", "show", again); !strings.Contains(show, "Started by alice.\nResumed by bob, continuing run "+id+".") {
		t.Errorf("runs show does not say who started and who resumed the run:\n%s", show)
	}
	if _, errOut, code := p.as("alice", "approve", again, "-yes"); code != 1 || !strings.Contains(errOut, "alice started this run and cannot approve it") {
		t.Fatalf("alice approving the run that resumes hers: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := p.as("bob", "approve", again, "-yes"); code != 0 {
		t.Fatalf("bob, who resumed the run, approving it: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := p.as("bob", "apply", "-resume", again); code != 0 {
		t.Fatalf("resume of the approved run: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(p.dir, "config.txt")); string(got) != "v2\n" {
		t.Fatalf("the approved run did not deploy: config.txt %q", got)
	}
	if r := showRun(t, p, newestRun(t, p)); r.answersAt() != "alice:refused,alice:refused,bob:approved" {
		t.Errorf("the run that deployed took the answers %q, want alice:refused,alice:refused,bob:approved", r.answersAt())
	}
}

// A run parked twice (resumed with -park before its answer) keeps the
// approvals given to every run it continues, and answers go to the newest
// run of the chain: one to a parked run already resumed is refused,
// naming the run to answer.
func TestApprovalsCarryOverWhenParkedTwice(t *testing.T) {
	p := newProject(t, parkedPipelineWith("1h", "min_approvals = 2"))
	first := parkRun(t, p)
	if _, errOut, code := p.as("bob", "approve", first, "-yes"); code != 0 {
		t.Fatalf("approve: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := p.as("dave", "apply", "-resume", first, "-park"); code != 8 || !strings.Contains(out, "approved by bob (1 of 2)") {
		t.Fatalf("resume with one approval of two: exit %d, want 8\n%s%s", code, out, errOut)
	}
	second := newestRun(t, p)
	if _, errOut, code := p.as("carol", "approve", first, "-yes"); code != 1 ||
		!strings.Contains(errOut, "run "+first+" was resumed by run "+second+", which goes on for it: answer that one (pipectl approve "+second) {
		t.Fatalf("an approval of the resumed parked run: exit %d, want it refused naming %s\n%s", code, second, errOut)
	}
	if out, errOut, code := p.as("dave", "apply", "-resume", second, "-park"); code != 8 || !strings.Contains(out, "approved by bob (1 of 2)") {
		t.Fatalf("the second resume lost bob's approval of the first run: exit %d\n%s%s", code, out, errOut)
	}
	third := newestRun(t, p)
	if _, errOut, code := p.as("carol", "approve", first, "-yes"); code != 1 || !strings.Contains(errOut, "answer that one (pipectl approve "+third) {
		t.Fatalf("an approval of the first run: exit %d, want it refused naming the newest run %s\n%s", code, third, errOut)
	}
	if _, errOut, code := p.as("bob", "approve", third, "-yes"); code != 1 || !strings.Contains(errOut, "bob already approved") {
		t.Fatalf("bob approving again in the third run: exit %d, want it refused as a second approval by him\n%s", code, errOut)
	}
	if _, errOut, code := p.as("carol", "approve", third, "-yes"); code != 0 {
		t.Fatalf("carol's approval: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := p.as("dave", "apply", "-resume", third, "-park"); code != 0 {
		t.Fatalf("resume with bob's approval of the first run and carol's of the third: exit %d, want 0 (deployed)\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(p.dir, "config.txt")); string(got) != "v2\n" {
		t.Fatalf("the approved run did not deploy: config.txt %q", got)
	}
}

// apply -resume latest -env ENV resumes the newest run of that
// environment, not the newest of all; a run of another environment than
// -env says is refused.
func TestResumeLatestKeepsToItsEnvironment(t *testing.T) {
	p := newProject(t, parkedPipeline("1h")+`
environment "dev" {}
environment "prod" {}
`)
	for _, env := range []string{"prod", "dev"} {
		if out, errOut, code := p.as("alice", "apply", "-env", env, "-auto-approve", "-park"); code != 8 {
			t.Fatalf("apply -env %s -park: exit %d, want 8\n%s%s", env, code, out, errOut)
		}
	}
	var runs []struct{ ID, Environment string }
	out, _, _ := p.run("runs", "-json")
	if err := runsJSON(out, &runs); err != nil || len(runs) != 2 || runs[0].Environment != "dev" {
		t.Fatalf("runs -json: %v\n%s", err, out)
	}
	dev, prod := runs[0].ID, runs[1].ID
	if _, errOut, code := p.as("bob", "approve", prod, "-yes"); code != 0 {
		t.Fatalf("approve: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := p.as("dave", "apply", "-resume", dev, "-env", "prod", "-park"); code != 1 ||
		!strings.Contains(errOut, "run "+dev+" is a run of environment dev, not prod") {
		t.Fatalf("apply -resume of a dev run with -env prod: exit %d, want it refused\n%s", code, errOut)
	}
	if out, errOut, code := p.as("dave", "apply", "-resume", "latest", "-env", "prod", "-park"); code != 0 {
		t.Fatalf("apply -resume latest -env prod: exit %d, want 0 (the approved prod run deploys)\n%s%s", code, out, errOut)
	}
	if r := showRun(t, p, newestRun(t, p)); r.ResumedFrom != prod {
		t.Fatalf("apply -resume latest -env prod resumed %s, want the prod run %s", r.ResumedFrom, prod)
	}
}

// A deploy window that waits while the run parks at another gate stops
// waiting with it: the parked run's record waits only at the approval
// gate it parked at (gate_abandoned closes the window gate), runs names
// that gate, and the steps behind the window say why they did not start.
// The resume waits for the window again (here let through by
// -override-window).
func TestParkClosesTheWindowGateItStops(t *testing.T) {
	notToday := strings.ToLower(time.Now().UTC().Add(48 * time.Hour).Weekday().String()[:3])
	p := newProject(t, parkedPipeline("1h")+fmt.Sprintf(`
stage "train" {
  window {
    days      = [%q]
    time_zone = "UTC"
  }
  step "ship" { action = std.noop }
}
`, notToday))
	out, errOut, code := p.as("alice", "apply", "-auto-approve", "-park", "-json")
	if code != 8 {
		t.Fatalf("apply -park: exit %d, want 8\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, `"type":"gate_abandoned"`) || !strings.Contains(out, "stage.train stopped waiting: the run parked at stage.deploy") {
		t.Errorf("apply -json does not say the window gate stopped waiting:\n%s", out)
	}
	checkJSONLines(t, out)
	id := newestRun(t, p)
	r := showRun(t, p, id)
	status := map[string]string{}
	for _, g := range r.Gates {
		status[g.Gate] = g.Status
	}
	if status["stage.deploy"] != "waiting" || status["stage.train"] != "abandoned" {
		t.Fatalf("the parked run's gates: %v, want stage.deploy waiting and stage.train abandoned", status)
	}
	for _, s := range r.Steps {
		if s.Step == "ship" && (s.Status != "not_run" || !strings.Contains(s.Message, "the run parked at stage.deploy while it waited at its gate")) {
			t.Errorf("the step behind the window: %+v", s)
		}
	}
	if list, _, _ := p.run("runs"); !strings.Contains(list, "parked at stage.deploy") {
		t.Errorf("runs does not name the gate the run parked at:\n%s", list)
	}
	if _, errOut, code := p.as("bob", "approve", id, "-yes"); code != 0 {
		t.Fatalf("approve: exit %d\n%s", code, errOut)
	}
	if out, errOut, code := p.as("dave", "apply", "-resume", id, "-override-window", "release train moved"); code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errOut)
	}
	if r := showRun(t, p, newestRun(t, p)); !hasStep(r, "ship", "succeeded") || !hasStep(r, "config", "succeeded") {
		t.Fatalf("the resumed run: %+v", r.Steps)
	}
}

// on_waiting runs once for each gate that starts waiting, and each run is
// recorded as its own (the step keyed by the gate), not as attempts of
// one record.
func TestOnWaitingIsRecordedOncePerGate(t *testing.T) {
	p := newProject(t, parkedPipeline("1h")+`
stage "docs" {
  depends_on = [stage.build]
  approval { message = "Publish?" }
  step "publish" { action = std.noop }
}
on_waiting {
  step "tell" { action = std.noop }
}
`)
	if out, errOut, code := p.as("alice", "apply", "-auto-approve", "-park"); code != 8 {
		t.Fatalf("apply -park: exit %d, want 8\n%s%s", code, out, errOut)
	}
	r := showRun(t, p, newestRun(t, p))
	told := map[string]string{}
	for _, s := range r.Steps {
		if s.Step == "tell" {
			told[s.Instance] = fmt.Sprintf("%s/%d", s.Status, s.Attempts)
		}
	}
	if len(told) != 2 || told["stage.deploy"] != "succeeded/1" || told["stage.docs"] != "succeeded/1" {
		t.Fatalf("the on_waiting step's records: %v, want one for each gate (stage.deploy, stage.docs), each succeeded in 1 attempt", told)
	}
	if show, _, _ := p.run("runs", "show", r.ID); !strings.Contains(show, `tell["stage.deploy"]`) || !strings.Contains(show, `tell["stage.docs"]`) {
		t.Errorf("runs show does not list the on_waiting step once per gate:\n%s", show)
	}
	// The report shows them under their own heading, not as failure handlers.
	if _, errOut, code := p.run("runs", "report", r.ID, "-o", "report.html"); code != 0 {
		t.Fatalf("runs report: exit %d\n%s", code, errOut)
	}
	html, _ := os.ReadFile(filepath.Join(p.dir, "report.html"))
	if !strings.Contains(string(html), "<h2>Telling approvers (on_waiting)</h2>") || strings.Contains(string(html), "Failure handlers and finally") {
		t.Errorf("the report does not give the on_waiting steps a heading of their own")
	}
}

// A gate's deadline that passes while on_waiting tells its approvers is
// checked before the run parks: it times out (exit 6) rather than parking
// past its deadline.
func TestDeadlinePassedWhileTellingIsNotParked(t *testing.T) {
	p := newProject(t, parkedPipeline("2s")+`
on_waiting {
  step "slow" {
    action   = std.sleep
    duration = "3s"
  }
}
`)
	out, errOut, code := p.as("alice", "apply", "-auto-approve", "-park")
	if code != 6 || !strings.Contains(out+errOut, "stage.deploy was not approved within 2s") {
		t.Fatalf("apply -park whose gate timed out while on_waiting ran: exit %d, want 6 (timed out)\n%s%s", code, out, errOut)
	}
}

// A failure elsewhere (fail_fast) ends the wait at a gate, and the
// on_waiting steps telling of it: the run does not wait for them.
func TestFailFastStopsOnWaiting(t *testing.T) {
	p := newProject(t, parkedPipeline("1h")+`
stage "check" {
  step "flaky" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "sleep 1; exit 1"]
  }
}
on_waiting {
  step "slow" {
    action   = std.sleep
    duration = "60s"
  }
}
`)
	out, errOut, code := p.as("alice", "apply", "-auto-approve")
	if code == 0 {
		t.Fatalf("apply whose check failed while on_waiting ran: exit 0\n%s%s", out, errOut)
	}
	if r := showRun(t, p, newestRun(t, p)); !hasStep(r, "slow", "cancelled") {
		t.Errorf("the on_waiting step is not recorded as cancelled: %+v", r.Steps)
	}
}
