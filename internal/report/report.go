// Package report writes the report of a recorded run: one self-contained
// HTML file (styles and script inside, no request to any network: a
// Content-Security-Policy says so) with the run's DAG, a timeline of every
// step and attempt, each step's status, duration, outputs, logs and
// artifacts (Markdown rendered), its failure handlers, approvals, and the
// plan that was applied. It reads only the run record, whose texts the
// engine already redacted, so no secret reaches it.
package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/record"
)

// Report is a run as the report shows it.
type Report struct {
	Run       *record.Run
	Plan      *v1.Plan
	Generated time.Time
	Duration  time.Duration
	Groups    []*Group // the main phase, then each handler phase
	Steps     []*Step  // every step instance, in plan order
	Timeline  *Timeline
	Gates     []record.GateRecord // the approval gates and deploy windows the run reached
	Outputs   string              // the pipeline's outputs, as JSON
	Counts    []Count
	Problems  []string // what the record lacks (an incomplete record, artifacts not kept)
}

// Count is how many step instances ended with a status.
type Count struct {
	Status string
	N      int
}

// FromStore reads a run from its record.
func FromStore(store *record.Store, id string) (*Report, error) {
	run, events, raw, err := store.Get(id)
	if err != nil {
		return nil, err
	}
	plan, err := record.DecodePlan(id, raw)
	if err != nil {
		return nil, err
	}
	arts, err := store.Artifacts(id)
	if err != nil {
		return nil, err
	}
	r := build(run, plan, events)
	for _, a := range arts {
		data, err := store.ArtifactData(id, a.Seq)
		if err != nil {
			return nil, err
		}
		r.attach(a, data)
	}
	return r, nil
}

// build assembles the report of a run from its summary, plan and events.
func build(run *record.Run, plan *v1.Plan, events []v1.Event) *Report {
	r := &Report{Run: run, Plan: plan, Generated: time.Now()}
	r.Steps = stepsOf(run, plan, events)
	r.Duration = runEnd(run, events).Sub(run.Started)
	r.Groups = groupsOf(plan, r.Steps)
	r.Timeline = timelineOf(run, r.Steps, gateWaits(events), runEnd(run, events))
	r.Gates = run.Gates
	r.Counts = countsOf(r.Steps)
	if len(run.Outputs) > 0 {
		r.Outputs = prettyJSON(run.Outputs)
	}
	if run.RecordFailed != "" {
		r.Problems = append(r.Problems, "The record is incomplete: "+run.RecordFailed+".")
	}
	return r
}

// runEnd is when the run finished, or its last event for one that did not.
func runEnd(run *record.Run, events []v1.Event) time.Time {
	if !run.Finished.IsZero() {
		return run.Finished
	}
	end := run.Started
	for _, e := range events {
		if e.Time.After(end) {
			end = e.Time
		}
	}
	return end
}

func countsOf(steps []*Step) []Count {
	n := map[string]int{}
	var order []string
	for _, s := range steps {
		if n[s.Status] == 0 {
			order = append(order, s.Status)
		}
		n[s.Status]++
	}
	out := make([]Count, 0, len(order))
	for _, st := range order {
		out = append(out, Count{Status: st, N: n[st]})
	}
	return out
}

// prettyJSON is v as indented JSON, < > & as they are (the template
// escapes the text for HTML).
func prettyJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// shortDuration is a duration for people: 12ms, 3.4s, 2m05s.
func shortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
