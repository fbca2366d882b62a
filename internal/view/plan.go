package view

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// PlanView is what `pipectl plan` reports (and apply before it asks, and
// runs show -plan): diagnostics, the plan, and where it was saved.
type PlanView interface {
	Diagnostics(hcl.Diagnostics)
	Show(p *v1.Plan)
	// Saved says where -out wrote the plan and how to apply it.
	Saved(file, applyArgs string)
}

var (
	_ PlanView = (*PlanHuman)(nil)
	_ PlanView = (*PlanJSON)(nil)
)

// NewPlan picks plan's view.
func NewPlan(base Base) PlanView {
	if base.JSON {
		return &PlanJSON{base}
	}
	return &PlanHuman{base}
}

// PlanJSON is a plan as JSON lines: step_planned a step, gate_planned a
// gate, then plan.
type PlanJSON struct{ Base }

// Show writes the plan's messages.
func (v *PlanJSON) Show(p *v1.Plan) {
	for _, s := range p.Steps {
		v.emit(MsgStepPlanned, stepPlannedMessage(s))
	}
	for _, g := range p.Gates {
		v.emit(MsgGatePlanned, gatePlannedMessage(g))
	}
	v.emit(MsgPlan, &PlanMessage{Pipeline: p.Pipeline, Environment: p.Environment, HasChanges: p.HasChanges(),
		Summary: Summary(p), Outputs: p.Outputs, OutputsLeftOut: p.OutputsLeftOut})
}

// Saved: the JSON contract has no message for it (the caller named the file).
func (v *PlanJSON) Saved(string, string) {}

// PlanHuman is a plan for people.
type PlanHuman struct{ Base }

// Saved says where the plan went and how to apply exactly it.
func (v *PlanHuman) Saved(file, applyArgs string) {
	v.Printf("\nSaved the plan to %s. Apply exactly this plan with: pipectl apply %s\n", file, applyArgs)
}

// Show prints the plan grouped by stage, then the failure handlers and
// finally steps, each with its action's summary and change text.
func (v *PlanHuman) Show(p *v1.Plan) {
	out := v.Out // a write call per line was 10,000 system calls at 10,000 steps
	buf := bufio.NewWriterSize(out, 64<<10)
	v.Out = buf
	defer func() {
		_ = buf.Flush()
		v.Out = out
	}()
	env := ""
	if p.Environment != "" {
		env = fmt.Sprintf(" in environment %q", p.Environment)
	}
	v.Printf("pipectl will run pipeline %q%s:\n", p.Pipeline, env)
	gates := map[string]*v1.PlannedGate{}
	for _, g := range p.Gates {
		gates[g.Gate] = g
	}
	group := ""
	for _, s := range p.Steps {
		if h := heading(s); h != group {
			group = h
			v.Printf("\n%s\n", v.bold(h))
			if s.Phase == v1.PhaseMain {
				v.gate(gates, v1.StageAddr(s.Stage).String())
			}
		}
		v.gate(gates, v1.StepAddr(s.Name).String())
		v.step(s)
	}
	writeGates(v.Out, slices.DeleteFunc(slices.Clone(p.Gates), func(g *v1.PlannedGate) bool { return gates[g.Gate] == nil }), v.paint)
	v.restoration(p)
	if len(p.Outputs)+len(p.OutputsLeftOut) > 0 {
		v.Printf("\n%s\n", v.bold("Outputs"))
		for _, k := range slices.Sorted(maps.Keys(p.Outputs)) {
			v.Printf("  %s = %s\n", k, planValue(p.Outputs[k]))
		}
		for _, k := range slices.Sorted(maps.Keys(p.OutputsLeftOut)) {
			v.Printf("  %s: no value (%s)\n", k, p.OutputsLeftOut[k])
		}
	}
	v.Printf("\n%s\n", Summary(p))
}

// restoration says, for every main step planned to change something, what
// a failed run would leave it as: restored by a failure handler that
// changes the same target (apply exits 5), or left changed (4). Only for a
// pipeline with failure handlers: without, every failure leaves it so.
func (v *PlanHuman) restoration(p *v1.Plan) {
	by := map[string][]string{}
	handlers := false
	for _, s := range p.Steps {
		if s.Phase == v1.PhaseStageOnFailure || s.Phase == v1.PhaseOnFailure {
			handlers = true
			for _, r := range s.Restores {
				by[r] = append(by[r], s.Name)
			}
		}
	}
	var lines []string
	for _, s := range p.Steps {
		if s.Phase != v1.PhaseMain || s.Run == v1.DecisionSkip || s.LeftOut != "" || countKind(s, "change") == 0 {
			continue
		}
		if h := by[s.Name]; len(h) > 0 {
			lines = append(lines, fmt.Sprintf("  %s restored by %s", pad(s.Name, 24), strings.Join(h, ", ")))
		} else {
			lines = append(lines, fmt.Sprintf("  %s not restored: no failure handler changes its target", pad(s.Name, 24)))
		}
	}
	if !handlers || len(lines) == 0 {
		return
	}
	v.Printf("\n%s\n%s\n", v.bold("If the run fails after these changes"), strings.Join(lines, "\n"))
}

// gate prints, under its stage or before its step, the gate the plan has
// there, once.
func (v *PlanHuman) gate(gates map[string]*v1.PlannedGate, name string) {
	g := gates[name]
	if g == nil {
		return
	}
	delete(gates, name)
	v.Printf("  %s %s waits here before it starts:\n", v.colored("⏸"), name)
	writeGate(v.Out, g, "      ")
}

// planValue renders a planned output (JSON-shaped, unknowns marked).
func planValue(x any) string {
	if s, ok := x.(string); ok && (s == v1.Unknown || s == v1.Redacted) {
		return s
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}

func heading(s *v1.PlannedStep) string {
	switch s.Phase {
	case v1.PhaseStageOnFailure:
		return fmt.Sprintf("On failure of stage %s (may run)", s.Stage)
	case v1.PhaseOnFailure:
		return "On failure of the pipeline (may run)"
	case v1.PhaseFinally:
		return "Finally (always)"
	case v1.PhaseOnWaiting:
		return "On waiting at an approval gate (may run)"
	}
	return "Stage " + s.Stage
}

func (v *PlanHuman) step(s *v1.PlannedStep) {
	if s.LeftOut != "" {
		v.Printf("  %s %s %s  (left out: %s)\n", v.colored("-"), pad(s.Name, 24), s.Action, s.LeftOut)
		return
	}
	mark, note := "+", ""
	switch {
	case s.Phase != v1.PhaseMain:
		mark = "!"
	case s.Run == v1.DecisionSkip:
		mark, note = "-", "  (skipped: its when condition is false)"
	case s.Run == v1.DecisionUnknown:
		mark, note = "?", "  (runs if its when condition holds at apply)"
	}
	if s.Deferred {
		note += "  (for_each decided at apply)"
	}
	if len(s.Restores) > 0 {
		note += "  (restores " + strings.Join(s.Restores, ", ") + ")"
	}
	if s.When != "" && (s.Phase != v1.PhaseMain || s.Run == v1.DecisionUnknown) {
		note += "  (when " + s.When + ")"
	}
	for _, in := range s.Instances {
		name := s.Name
		if in.Key != "" && in.Key != "*" {
			name = instanceName(s.Name, in.Key)
		}
		if in.Skipped {
			v.Printf("  %s %s %s  (skipped: its when condition is false for this instance)\n", v.colored("-"), pad(name, 24), s.Action)
			continue
		}
		m, n := mark, note
		if in.Kind == "no-change" && mark == "+" {
			m, n = "=", note+"  (no changes: not applied)"
		} else if in.Kind == "change" && mark == "+" {
			m = "~"
		}
		v.Printf("  %s %s %s%s\n", v.colored(m), pad(name, 24), s.Action, n)
		if in.Summary != "" {
			v.Printf("      %s\n", in.Summary)
		}
		if in.Change != "" {
			v.Printf("%s\n", indent(strings.TrimRight(in.Change, "\n"), "        "))
		}
		v.how(s) // under every instance: each one waits and times out on its own
	}
}

// how prints what a step waits for and how it runs.
func (v *PlanHuman) how(s *v1.PlannedStep) {
	if len(s.DependsOn) > 0 && s.Phase == v1.PhaseMain {
		v.Printf("      after: %s\n", strings.Join(s.DependsOn, ", "))
	}
	if how := runsHow(s); how != "" {
		v.Printf("      %s\n", how)
	}
}

// runsHow summarizes the meta-arguments that change how a step runs.
func runsHow(s *v1.PlannedStep) string {
	var parts []string
	if s.Timeout != "" {
		parts = append(parts, "timeout "+s.Timeout)
	}
	if s.Attempts > 1 {
		parts = append(parts, fmt.Sprintf("up to %d attempts", s.Attempts))
	}
	if s.ContinueOnError {
		parts = append(parts, "continues on error")
	}
	return strings.Join(parts, " · ")
}

// Summary is the plan's one-line count.
func Summary(p *v1.Plan) string {
	var run, changes, unchanged, skipped, unknown, handlers, leftOut int
	for _, s := range p.Steps {
		switch {
		case s.LeftOut != "":
			leftOut++
		case s.Phase != v1.PhaseMain:
			handlers++
		case s.Run == v1.DecisionSkip:
			skipped++
		case s.Run == v1.DecisionUnknown:
			unknown++
		default:
			run++
			changes += countKind(s, "change")
			unchanged += countKind(s, "no-change")
		}
	}
	out := fmt.Sprintf("Plan: %s to run (%d to change, %d unchanged), %d skipped, %d decided at apply; %s.",
		plural(run, "step"), changes, unchanged, skipped, unknown, plural(handlers, "failure handler and finally step"))
	if len(p.Gates) > 0 {
		out = strings.TrimSuffix(out, ".") + fmt.Sprintf("; %s to pass.", plural(len(p.Gates), "gate"))
	}
	if leftOut > 0 {
		out += fmt.Sprintf(" %d left out (%s).", leftOut, subsetFlags(p))
	}
	return out
}

func countKind(s *v1.PlannedStep, kind string) int {
	n := 0
	for _, in := range s.Instances {
		if !in.Skipped && in.Kind == kind {
			n++
		}
	}
	return n
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (v *PlanHuman) bold(s string) string {
	if !v.Color {
		return s
	}
	return "\x1b[1m" + s + "\x1b[0m"
}

func (v *PlanHuman) colored(mark string) string {
	if !v.Color {
		return mark
	}
	code := map[string]string{"+": "32", "~": "33", "=": "90", "-": "90", "?": "33", "!": "35", "⏸": "33"}[mark]
	return "\x1b[" + code + "m" + mark + "\x1b[0m"
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// subsetFlags names the flags that made a subset plan.
func subsetFlags(p *v1.Plan) string {
	if p.Only != "" {
		return "-only " + p.Only + ", outputs before it from run " + p.OnlyFrom
	}
	return "-target " + strings.Join(p.Targets, " -target ")
}
