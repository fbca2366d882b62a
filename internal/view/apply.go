package view

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
)

// ApplyView is what apply reports to: the run's events, then its result.
type ApplyView interface {
	engine.EventSink
	Result(*engine.Result)
}

// NewApply picks the view: JSON lines, a live panel on a terminal, or
// plain lines (CI logs, pipes).
func NewApply(base Base, terminal bool) ApplyView {
	if terminal && !base.JSON {
		return NewLiveApply(base)
	}
	return &Apply{Base: base}
}

// Apply renders a run's events: plain lines for people (one per event,
// prefixed with the step, readable in CI logs and terminals alike), or one
// JSON object per line for machines.
type Apply struct {
	Base
}

// Event implements engine.EventSink.
func (v *Apply) Event(e engine.Event) {
	if v.JSON {
		v.writeJSON(eventJSON{Event: e, Diagnostics: diagnosticsJSON(&v.Base, e.Diagnostics)})
		return
	}
	name := e.Step
	if e.Instance != "" {
		name = fmt.Sprintf("%s[%q]", e.Step, e.Instance)
	}
	switch e.Type {
	case engine.RunStarted:
		v.Printf("Applying pipeline %q\n", e.Message)
	case engine.PhaseStarted:
		v.Printf("%s\n", v.paint("35", phaseTitle(e)))
	case engine.StepStarted:
		attempt := ""
		if e.Attempt > 1 {
			attempt = fmt.Sprintf(" (attempt %d)", e.Attempt)
		}
		v.Printf("%s %s: %s started%s\n", v.paint("36", "→"), name, e.Action, attempt)
	case engine.StepLog:
		v.Printf("  %s │ %s\n", name, e.Message)
	case engine.StepProgress:
		v.Printf("  %s │ %3.0f%% %s\n", name, e.Fraction*100, e.Message)
	case engine.StepArtifact:
		v.Printf("  %s │ artifact %s (%s)\n", name, e.Artifact, e.Message)
	case engine.StepRetrying:
		v.Printf("%s %s: %s\n", v.paint("33", "↻"), name, e.Message)
	case engine.StepFinished:
		v.finished(name, e)
	case engine.RunCancelling:
		v.Printf("%s\n", v.paint("33", e.Message))
	case engine.RunFinished:
		if e.Message != "" {
			v.Printf("%s\n", e.Message)
		}
	}
}

func (v *Apply) finished(name string, e engine.Event) {
	switch e.Status {
	case engine.StatusSucceeded:
		v.Printf("%s %s: succeeded in %s%s\n", v.paint("32", "✓"), name, e.Duration.Round(time.Millisecond), outputs(e.Outputs))
	case engine.StatusSkipped:
		v.Printf("%s %s: skipped (%s)\n", v.paint("90", "-"), name, e.Message)
	case engine.StatusNotRun:
		v.Printf("%s %s: not run\n", v.paint("90", "·"), name)
	case engine.StatusFailedContinued:
		v.Printf("%s %s: failed, continuing (continue_on_error): %s\n", v.paint("33", "✗"), name, e.Message)
	case engine.StatusCancelled:
		v.Printf("%s %s: cancelled\n", v.paint("33", "✗"), name)
	default:
		if len(e.Diagnostics) > 0 {
			v.Printf("%s %s: failed\n", v.paint("31", "✗"), name)
			// On Out, in order with the step lines (and above a live panel).
			_ = dsl.WriteDiagnostics(v.Out, v.redact(e.Diagnostics), v.files(), v.Width, v.Color)
			return
		}
		v.Printf("%s %s: failed: %s\n", v.paint("31", "✗"), name, e.Message)
	}
}

// Result prints the run's outcome and outputs.
func (v *Apply) Result(res *engine.Result) {
	if v.JSON {
		return // the run_finished event carried it
	}
	counts := map[engine.Status]int{}
	for _, s := range res.Steps {
		counts[s]++
	}
	var parts []string
	for _, s := range []engine.Status{engine.StatusSucceeded, engine.StatusFailed, engine.StatusFailedContinued,
		engine.StatusCancelled, engine.StatusSkipped, engine.StatusNotRun} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], strings.ReplaceAll(string(s), "_", " ")))
		}
	}
	color := map[engine.Status]string{engine.StatusSucceeded: "32", engine.StatusFailed: "31", engine.StatusCancelled: "33"}[res.Status]
	v.Printf("\n%s %s\n", v.paint(color, "Run "+string(res.Status)+"."), strings.Join(parts, ", "))
	if len(res.Outputs) > 0 {
		v.Printf("\nOutputs:\n")
		for _, k := range slices.Sorted(maps.Keys(res.Outputs)) {
			v.Printf("  %s = %s\n", k, v.Redactor.String(engine.FormatValue(res.Outputs[k])))
		}
	}
}

// eventJSON is an event as -json prints it: a failed step's diagnostics
// with their ranges and snippets, as plan-time ones.
type eventJSON struct {
	engine.Event
	Diagnostics []dsl.DiagnosticJSON `json:"diagnostics,omitempty"`
}

func phaseTitle(e engine.Event) string {
	switch e.Phase {
	case "stage_on_failure":
		return fmt.Sprintf("Stage %s failed: running its on_failure steps", e.Stage)
	case "on_failure":
		return "Running the pipeline's on_failure steps"
	}
	return "Running the finally steps"
}

func outputs(o map[string]any) string {
	if len(o) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(o)) {
		s := outputText(o[k])
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		parts = append(parts, k+"="+strings.ReplaceAll(s, "\n", " "))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// outputText is one output of a step, as the step line shows it: a string
// as itself, anything else as JSON (null, not Go's <nil>).
func outputText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (v *Apply) paint(code, s string) string {
	if !v.Color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
