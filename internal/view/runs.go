package view

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
)

// RunsView is what `pipectl runs` and `pipectl runs show` report.
type RunsView interface {
	// List lists the runs, newest first.
	List(list []*v1.Run)
	// Show shows one run: planJSON is the plan it applied, as recorded;
	// logs asks for its events too. Events are streamed from the record
	// by each, never held all at once.
	Show(run *v1.Run, planJSON json.RawMessage, logs bool, each func(func(v1.Event) error) error) error
}

var (
	_ RunsView = (*RunsHuman)(nil)
	_ RunsView = (*RunsJSON)(nil)
)

// NewRuns picks the runs view.
func NewRuns(base Base) RunsView {
	if base.JSON {
		return &RunsJSON{base}
	}
	return &RunsHuman{base}
}

// RunsJSON is runs as JSON lines: a run message a run; runs show adds its
// plan and its events as plan -json and apply -json wrote them.
type RunsJSON struct{ Base }

// List writes one run message a run.
func (v *RunsJSON) List(list []*v1.Run) {
	for _, r := range list {
		v.emit(MsgRun, runRecordMessage(r))
	}
}

// Show writes the run message, then its plan as step_planned and
// gate_planned messages and its events as the messages apply -json wrote
// (logs or not: a machine filters).
func (v *RunsJSON) Show(run *v1.Run, planJSON json.RawMessage, _ bool, each func(func(v1.Event) error) error) error {
	if v.JSONOut == nil {
		v.JSONOut = NewJSONStream(v.Out, v.Err)
	}
	return v.JSONOut.Batch(func() error { return v.show(run, planJSON, each) })
}

func (v *RunsJSON) show(run *v1.Run, planJSON json.RawMessage, each func(func(v1.Event) error) error) error {
	v.emit(MsgRun, runRecordMessage(run))
	var plan v1.Plan
	if json.Unmarshal(planJSON, &plan) == nil {
		for _, s := range plan.Steps {
			v.emit(MsgStepPlanned, stepPlannedMessage(s))
		}
		for _, g := range plan.Gates {
			v.emit(MsgGatePlanned, gatePlannedMessage(g))
		}
	}
	return each(func(e v1.Event) error {
		v.emit(eventMessage(e, func(e v1.Event) []dsl.DiagnosticJSON { return e.RecordedDiagnostics }))
		return nil
	})
}

// RunsHuman is runs for people: a table of runs, or one run's story.
type RunsHuman struct{ Base }

// List prints the runs, newest first, as a table.
func (v *RunsHuman) List(list []*v1.Run) {
	w := tabwriter.NewWriter(v.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tPIPELINE\tENV\tSTATUS\tSTARTED\tDURATION\tSTEPS")
	resumedBy := map[string]string{} // newest first: the newest resume is named
	for _, r := range list {
		if _, ok := resumedBy[r.ResumedFrom]; r.ResumedFrom != "" && !ok {
			resumedBy[r.ResumedFrom] = r.ID
		}
	}
	for _, r := range list {
		status := runStatus(r)
		if by := resumedBy[r.ID]; by != "" && r.Status == v1.StatusParked {
			status = "parked, resumed by " + by
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Pipeline, dash(r.Environment), status,
			r.Started.Local().Format(time.DateTime), span(r.Started, r.Finished), r.StepTotal())
	}
	_ = w.Flush()
}

// Show prints one run: its status, gates, steps, the diagnostics of its
// failures and, with logs, every event.
func (v *RunsHuman) Show(run *v1.Run, _ json.RawMessage, logs bool, each func(func(v1.Event) error) error) error {
	out := bufio.NewWriterSize(v.Out, 64<<10) // a write call per table row was a third of the CPU at 10,000 steps
	err := v.show(out, run, logs, each)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

func (v *RunsHuman) show(out io.Writer, run *v1.Run, logs bool, each func(func(v1.Event) error) error) error {
	fmt.Fprintf(out, "Run %s of pipeline %q", run.ID, run.Pipeline)
	if run.Environment != "" {
		fmt.Fprintf(out, " in %s", run.Environment)
	}
	fmt.Fprintf(out, ": %s, started %s, took %s\n", run.Status, run.Started.Local().Format(time.DateTime), span(run.Started, run.Finished))
	if text := OutcomeText(run.Outcome); text != "" {
		fmt.Fprintln(out, text)
	}
	if run.RecordFailed != "" {
		fmt.Fprintf(out, "The record is incomplete: %s.\n", run.RecordFailed)
	}
	if u := run.ForceUnlocked; u != nil {
		why := ""
		if u.Reason != "" {
			why = ": " + u.Reason
		}
		switch {
		case u.TakenOverBy != "": // its resume took it over
			fmt.Fprintf(out, "Its lock was taken over by %s (run %s, apply -resume) at %s%s.\n", u.By, u.TakenOverBy, u.At.Local().Format(time.DateTime), why)
		case run.Status == v1.StatusParked: // no process held it
			fmt.Fprintf(out, "It was parked, keeping the lock of its environment; %s broke the lock (pipectl force-unlock) at %s%s.\n",
				u.By, u.At.Local().Format(time.DateTime), why)
		default:
			fmt.Fprintf(out, "Its process died holding the lock of its environment; %s broke the lock (pipectl force-unlock) at %s%s.\n",
				u.By, u.At.Local().Format(time.DateTime), why)
		}
	}
	if h := run.TookOver; h != nil {
		fmt.Fprintf(out, "It took over the lock of %s.\n", h)
	}
	if run.Status == v1.StatusParked {
		cmds := v1.CommandsFor(run.ID)
		fmt.Fprintf(out, "Parked: it keeps its environment's lock, with no process. %s, then %s on any runner; "+
			"or %s and resume it to end it.\n", cmds.Approve, cmds.Resume, cmds.Reject)
	}
	writeRunGates(out, run)
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STEP\tPHASE\tACTION\tSTATUS\tATTEMPTS\tDURATION\tOUTPUT\tMESSAGE")
	for _, s := range run.Steps {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", instanceName(s.Step, s.Instance), s.Phase, s.Action, s.Status, s.Attempts,
			span(s.Started, s.Finished), outputSize(s), firstLine(s.Message))
	}
	_ = w.Flush()
	for _, s := range run.Steps {
		if len(s.Diagnostics) > 0 {
			fmt.Fprintf(out, "\n%s %s:\n", instanceName(s.Step, s.Instance), s.Status)
			writeRecordedDiagnostics(out, s.Diagnostics)
		}
	}
	if !logs {
		return nil
	}
	fmt.Fprintln(out, "\nEvents:")
	return each(func(e v1.Event) error {
		_, err := fmt.Fprintf(out, "%s %-14s %s %s\n", e.Time.Local().Format("15:04:05.000"), e.Type, e.Step, firstLine(e.Message))
		return err
	})
}

// outputSize is how much a step printed, as recorded (the record keeps its
// head and tail).
func outputSize(s v1.StepRecord) string {
	if s.OutputBytes == 0 {
		return "-"
	}
	return fmt.Sprintf("%d lines, %d B", s.OutputLines, s.OutputBytes)
}

func runRecordMessage(r *v1.Run) *RunRecordMessage {
	m := &RunRecordMessage{ID: r.ID, Pipeline: r.Pipeline, Environment: r.Environment, Status: string(r.Status),
		Outcome: string(r.Outcome), Started: r.Started, Finished: timePtr(r.Finished), ResumedFrom: r.ResumedFrom, SavedPlan: r.SavedPlan,
		RecordFailed: r.RecordFailed, Outputs: r.Outputs, Steps: []StepRecordJSON{}, ForceUnlocked: forceUnlockJSON(r.ForceUnlocked),
		StartedBy: r.StartedBy, StartedByActor: r.StartedByActor, ResumedBy: r.ResumedBy, Gates: gateRecordsJSON(r.Gates), TookOver: lockHolderJSON(r.TookOver)}
	for _, s := range r.Steps {
		m.Steps = append(m.Steps, StepRecordJSON{Step: s.Step, Instance: s.Instance, Phase: string(s.Phase), Action: s.Action,
			Status: string(s.Status), Attempts: s.Attempts, Started: timePtr(s.Started), Finished: timePtr(s.Finished),
			Message: s.Message, Outputs: s.Outputs, Diagnostics: s.Diagnostics, OutputBytes: s.OutputBytes, OutputLines: s.OutputLines})
	}
	return m
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// instanceName names an instance as views show it: step, or step["key"].
func instanceName(step, instance string) string { return v1.StepAddr(step).Instance(instance).Name() }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func span(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "-"
	}
	return end.Sub(start).Round(time.Millisecond).String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// runStatus is a run's status for people: a running run says where it waits.
func runStatus(r *v1.Run) string {
	if w := r.Waiting(); len(w) > 0 && r.Status == v1.StatusRunning {
		if w[0].Kind == "window" {
			return "waiting for the deploy window at " + w[0].Gate
		}
		return "waiting for approval at " + w[0].Gate
	}
	if w := r.Waiting(); len(w) > 0 && r.Status == v1.StatusParked {
		return "parked at " + w[0].Gate
	}
	return string(r.Status)
}
