package view

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
)

// ApplyView is what apply reports to: the run's events, text for people
// between them (an approval's question asked at the terminal), then its
// result and the id of its run record ("" when it could not be recorded).
type ApplyView interface {
	v1.EventSink
	Notice(text string)
	Result(res *v1.Result, runID string)
}

var (
	_ ApplyView = (*ApplyHuman)(nil)
	_ ApplyView = (*ApplyJSON)(nil)
	_ ApplyView = (*ApplyLive)(nil)
)

// NewApply picks the view: JSON lines, a live panel on a terminal, or
// plain timestamped lines (CI logs, pipes, -no-color). plan is the plan
// being applied (nil when unknown): it names the steps ahead of time, so
// columns line up and the summary follows the plan's order.
func NewApply(base Base, live bool, plan *v1.Plan) ApplyView {
	switch {
	case base.JSON:
		return &ApplyJSON{Base: base}
	case live:
		return NewApplyLive(base, plan)
	}
	return newApplyHuman(base, plan)
}

// ApplyJSON is a run as JSON lines: a message an event, then run_finished
// with the counts and the record.
type ApplyJSON struct {
	Base
	mu sync.Mutex // the interrupt handler reports from its own goroutine
}

// Event implements v1.EventSink.
func (v *ApplyJSON) Event(e v1.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e.Type != v1.RunFinished { // Result says it, with the counts and the record
		v.emit(eventMessage(e, func(e v1.Event) []dsl.DiagnosticJSON { return diagnosticsJSON(&v.Base, e.Diagnostics) }))
	}
}

// Notice: JSON output has no text for people.
func (v *ApplyJSON) Notice(string) {}

// Result writes run_finished.
func (v *ApplyJSON) Result(res *v1.Result, runID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := &RunMessage{Status: res.Status, Counts: map[string]int{}, RunID: runID, Outputs: map[string]any{}, GateFailure: gateFailureJSON(res.GateFailure),
		Outcome: res.Outcome}
	for s, n := range instanceCounts(res) {
		m.Counts[string(s)] = n
	}
	for k, val := range res.Outputs {
		m.Outputs[k] = v.redactor().Any(dsl.JSONValue(val))
	}
	v.emit(string(v1.RunFinished), m)
}

// instanceCounts counts a run's instances by status, as pipectl runs does.
func instanceCounts(res *v1.Result) map[v1.Status]int {
	counts := map[v1.Status]int{}
	for _, s := range res.Instances {
		counts[s]++
	}
	return counts
}

// ApplyHuman renders a run's events as plain lines for people, one per
// event with its time, readable in CI logs.
type ApplyHuman struct {
	Base
	mu    sync.Mutex // the interrupt handler reports from its own goroutine
	width int        // of the step names column
	steps *outcomes
	now   func() time.Time
}

func newApplyHuman(base Base, plan *v1.Plan) *ApplyHuman {
	return &ApplyHuman{Base: base, width: nameWidth(plan), steps: newOutcomes(plan), now: time.Now}
}

// Event implements v1.EventSink.
func (v *ApplyHuman) Event(e v1.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.steps.summary.Apply(e)
	var b bytes.Buffer
	v.render(&b, e, true)
	if b.Len() > 0 {
		fmt.Fprint(v.Out, v.stamp(e.Time, b.String()))
	}
}

// stamp prefixes every line with the time, as CI logs want.
func (v *ApplyHuman) stamp(t time.Time, text string) string {
	if t.IsZero() {
		t = v.now()
	}
	prefix := t.Local().Format("15:04:05") + " "
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for _, l := range lines {
		switch l {
		case "":
		case "\n":
			b.WriteString(l) // a blank line stays blank
		default:
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

// render writes what an event says for people; logs and progress only
// when withLogs (the live panel shows them in place instead).
func (v *ApplyHuman) render(b *bytes.Buffer, e v1.Event, withLogs bool) {
	name := pad(instanceName(e.Step, e.Instance), v.width)
	switch e.Type {
	case v1.RunStarted:
		if e.Environment != "" {
			fmt.Fprintf(b, "Applying pipeline %q to environment %s\n", e.Message, e.Environment)
		} else {
			fmt.Fprintf(b, "Applying pipeline %q\n", e.Message)
		}
	case v1.PhaseStarted:
		fmt.Fprintf(b, "%s\n", v.paint("35", phaseTitle(e.Phase, e.Stage)))
	case v1.StepStarted:
		if withLogs {
			fmt.Fprintf(b, "%s %s %s%s\n", v.paint("36", "→"), name, e.Action, attemptNote(e.Attempt))
		}
	case v1.StepLog:
		if withLogs {
			fmt.Fprintf(b, "  %s │ %s\n", name, e.Message)
		}
	case v1.StepProgress:
		if withLogs {
			fmt.Fprintf(b, "  %s │ %s\n", name, progressText(e))
		}
	case v1.StepArtifact:
		if withLogs {
			fmt.Fprintf(b, "  %s │ artifact %s (%s)\n", name, e.Artifact, e.Message)
		}
	case v1.StepRetrying:
		fmt.Fprintf(b, "%s %s %s\n", v.paint("33", "↻"), name, e.Message)
	case v1.StepFinished:
		v.finishedLine(b, name, e)
	case v1.RunCancelling:
		fmt.Fprintf(b, "%s\n", v.paint("33", e.Message))
	case v1.OutputsFailed:
		fmt.Fprintf(b, "%s\n", v.paint("31", "The steps succeeded, but the pipeline's outputs could not be evaluated:"))
		_ = dsl.WriteDiagnostics(b, v.redact(e.Diagnostics), v.files(), v.Width, v.Color)
	default:
		v.gateLine(b, e)
	}
}

// finishedLine collapses a finished instance to one line — mark, name,
// duration, a one-line summary — and a failure's diagnostics under it.
func (v *ApplyHuman) finishedLine(b *bytes.Buffer, name string, e v1.Event) {
	mark, color := statusMark(e.Status)
	fmt.Fprintf(b, "%s %s %s\n", v.paint(color, mark), name, strings.TrimRight(oneLine(e, v.steps.done(e.Step, e.Instance, e.Message)), " "))
	if (e.Status == v1.StatusFailed || e.Status == v1.StatusFailedContinued) && len(e.Diagnostics) > 0 {
		_ = dsl.WriteDiagnostics(b, v.redact(e.Diagnostics), v.files(), v.Width, v.Color)
	}
}

// oneLine is what a finished instance says after its name.
func oneLine(e v1.Event, done string) string {
	d := e.Duration.Round(time.Millisecond).String()
	switch e.Status {
	case v1.StatusSucceeded:
		return fmt.Sprintf("%-8s %s", d, done)
	case v1.StatusUnchanged:
		return "unchanged, not applied: " + firstLine(e.Message)
	case v1.StatusSkipped:
		return "skipped: " + firstLine(e.Message)
	case v1.StatusNotRun:
		return "not run: " + firstLine(e.Message)
	case v1.StatusCancelled:
		return "cancelled: " + firstLine(e.Message)
	case v1.StatusFailedContinued:
		return fmt.Sprintf("%-8s failed, continuing (continue_on_error): %s", d, failureSummary(e))
	}
	return fmt.Sprintf("%-8s failed: %s", d, failureSummary(e))
}

// recordedFailure is failureSummary of a step record.
func recordedFailure(r *v1.StepRecord) string {
	for _, d := range r.Diagnostics {
		if d.Summary != "" {
			return d.Summary
		}
	}
	return firstLine(r.Message)
}

// failureSummary is a failure in one line: its first diagnostic's summary,
// or the first line of its message.
func failureSummary(e v1.Event) string {
	for _, d := range e.Diagnostics {
		if d.Summary != "" {
			return d.Summary
		}
	}
	return firstLine(e.Message)
}

func statusMark(s v1.Status) (mark, color string) {
	switch s {
	case v1.StatusSucceeded:
		return "✓", "32"
	case v1.StatusUnchanged:
		return "=", "90"
	case v1.StatusSkipped:
		return "-", "90"
	case v1.StatusNotRun:
		return "·", "90"
	case v1.StatusCancelled, v1.StatusFailedContinued:
		return "✗", "33"
	}
	return "✗", "31"
}

func attemptNote(attempt int) string {
	if attempt > 1 {
		return fmt.Sprintf(" (attempt %d)", attempt)
	}
	return ""
}

func progressText(e v1.Event) string {
	if e.Fraction < 0 {
		return e.Message
	}
	return fmt.Sprintf("%3.0f%% %s", e.Fraction*100, e.Message)
}

// Result prints the run's outcome: a table of every instance, the
// counts, the outputs and where the run is recorded.
func (v *ApplyHuman) Result(res *v1.Result, runID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	counts := instanceCounts(res)
	var b bytes.Buffer
	v.steps.table(&b, v.paint)
	var parts []string
	for _, s := range []v1.Status{v1.StatusSucceeded, v1.StatusUnchanged, v1.StatusFailed, v1.StatusFailedContinued,
		v1.StatusCancelled, v1.StatusSkipped, v1.StatusNotRun} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], strings.ReplaceAll(string(s), "_", " ")))
		}
	}
	color := map[v1.Status]string{v1.StatusSucceeded: "32", v1.StatusFailed: "31", v1.StatusCancelled: "33", v1.StatusParked: "33"}[res.Status]
	fmt.Fprintf(&b, "\n%s %s\n", v.paint(color, "Run "+string(res.Status)+"."), strings.Join(parts, ", "))
	if res.OutputDiagnostics.HasErrors() {
		fmt.Fprintf(&b, "%s\n", v.paint("31", "The pipeline's outputs could not be evaluated (see above)."))
	}
	if f := res.GateFailure; f != nil {
		fmt.Fprintf(&b, "%s\n", v.paint("31", "Stopped at a gate: "+f.Message+"."))
	}
	if text := OutcomeText(res.Outcome); text != "" {
		fmt.Fprintf(&b, "%s\n", text)
	}
	if len(res.Parked) > 0 && runID != "" {
		b.WriteString(parkedText(res.Parked, runID))
	}
	if len(res.Outputs) > 0 {
		fmt.Fprintf(&b, "\nOutputs:\n")
		for _, k := range slices.Sorted(maps.Keys(res.Outputs)) {
			fmt.Fprintf(&b, "  %s = %s\n", k, v.redactor().String(dsl.FormatValue(v.redactor().Value(res.Outputs[k]))))
		}
	}
	if runID != "" {
		fmt.Fprintf(&b, "\nRecorded as run %s: pipectl runs show %s\n", runID, runID)
	}
	fmt.Fprint(v.Out, b.String())
}

// parkedText says where a parked run waits, and the commands that go on.
func parkedText(parked []v1.ParkedGate, runID string) string {
	var b strings.Builder
	for _, p := range parked {
		until := "it has no timeout"
		if !p.Until.IsZero() {
			until = "it times out at " + p.Until.Local().Format("2006-01-02 15:04:05 MST")
		}
		fmt.Fprintf(&b, "Parked at %s, waiting for approval (%s).\n", p.Gate, until)
	}
	cmds := v1.CommandsFor(runID)
	fmt.Fprintf(&b, "The environment stays locked for run %s, with no process.\n"+
		"  approve:  %s\n  resume:   %s   (on any runner; it waits if not answered yet)\n"+
		"  reject:   %s   (then resume it to end it)\n", runID, cmds.Approve, cmds.Resume, cmds.Reject)
	return b.String()
}

// OutcomeText says what a run that did not succeed left its target as.
func OutcomeText(o v1.Outcome) string {
	switch o {
	case v1.OutcomeUnchanged:
		return "Nothing was changed: the run stopped before any step that changes the target ran."
	case v1.OutcomeRestored:
		return "Restored: every step that changed the target was restored by its failure handler."
	case v1.OutcomeChanged:
		return "Left changed: a step changed the target and no failure handler restored it."
	}
	return ""
}

func phaseTitle(phase v1.Phase, stage string) string {
	switch phase {
	case v1.PhaseMain:
		return "Stage " + stage
	case v1.PhaseStageOnFailure:
		return fmt.Sprintf("Stage %s failed: running its on_failure steps", stage)
	case v1.PhaseOnFailure:
		return "Running the pipeline's on_failure steps"
	case v1.PhaseOnWaiting:
		return "A gate waits: running the on_waiting steps"
	}
	return "Running the finally steps"
}

func (b *Base) paint(code, s string) string {
	if !b.Color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// nameWidth is the width of the widest instance name of the plan, so
// that step names line up; 0 without a plan.
func nameWidth(plan *v1.Plan) int {
	w := 0
	if plan == nil {
		return w
	}
	for _, s := range plan.Steps {
		for _, in := range s.Instances {
			key := in.Key
			if key == "*" {
				key = ""
			}
			w = max(w, len(instanceName(s.Name, key)))
		}
	}
	return min(w, 40)
}

// outcomes are the finished instances of a run, for the summary table,
// as the run's one fold tells them (v1.Summary).
type outcomes struct {
	plan    *v1.Plan
	planned map[string]*v1.PlannedStep // the plan's steps by name
	summary *v1.Summary
}

func newOutcomes(plan *v1.Plan) *outcomes {
	o := &outcomes{plan: plan, planned: plan.StepsByName(), summary: v1.NewSummary(v1.Run{})}
	o.summary.Expect(plan.InstanceCount())
	return o
}

// done says what a succeeded instance did: what its action reported,
// else its plan's summary marked as the forecast it was ("" without).
func (o *outcomes) done(step, instance, message string) string {
	if message != "" {
		return firstLine(message)
	}
	if in := o.planned[step].Instance(instance); in != nil && in.Summary != "" {
		return "planned: " + firstLine(in.Summary)
	}
	return ""
}

// ordered lists the finished instances in the plan's order, then any the
// plan did not name (instances of a for_each decided at apply).
func (o *outcomes) ordered() []*v1.StepRecord {
	var out []*v1.StepRecord
	add := func(r *v1.StepRecord) {
		if r.Status != v1.StatusRunning {
			out = append(out, r)
		}
	}
	if o.plan != nil {
		seen := map[string]bool{} // a name the plan lists twice shows its rows once
		for _, s := range o.plan.Steps {
			if !seen[s.Name] {
				seen[s.Name] = true
				for _, r := range o.summary.Instances(s.Name) {
					add(r)
				}
			}
		}
	}
	for i := range o.summary.Run.Steps {
		if r := &o.summary.Run.Steps[i]; o.planned[r.Step] == nil {
			add(r)
		}
	}
	return out
}

// table writes what ran and how it ended, one row per instance.
func (o *outcomes) table(b *bytes.Buffer, paint func(code, s string) string) {
	rows := o.ordered()
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(b)
	w := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  STEP\tSTAGE\tSTATUS\tDURATION\tNOTE")
	for _, r := range rows {
		mark, _ := statusMark(r.Status)
		d := "-"
		if r.Duration > 0 {
			d = r.Duration.Round(time.Millisecond).String()
		}
		note := ""
		switch r.Status {
		case v1.StatusSucceeded:
			note = o.done(r.Step, r.Instance, r.Message)
		case v1.StatusFailed, v1.StatusFailedContinued:
			note = recordedFailure(r)
		default:
			note = firstLine(r.Message)
		}
		fmt.Fprintf(w, "%s %s\t%s\t%s\t%s\t%s\n", mark, r.Addr().Name(), dash(r.Stage), r.Status, d, truncate(note, 60))
	}
	_ = w.Flush()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
