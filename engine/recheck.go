package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// Approve what runs: the plan someone approved is checked again right
// before the steps it covers run — the steps behind a gate when it opens,
// the steps not yet run when a run is resumed — and the run stops, saying
// what differs, when the world moved in between.

// recheck re-plans the main steps named (through their plugins, in
// dependency order) with values: what each step evaluates to, the real
// value of those that finished, the plan's for the others. It says how
// each differs from approved. A step downstream of a step in ran (one that
// ran since approved was made: it changed the world on purpose) is
// compared by its change; any other by its fingerprint (stepMoved).
func (pl *Planner) recheck(ctx context.Context, approved *Plan, steps map[string]bool, values map[string]cty.Value, ran map[string]bool) ([]string, hcl.Diagnostics) {
	pl.sources = nil // what the steps read was compared when the plan was; the last plan keeps its Sources
	values = maps.Clone(values)
	main := pl.Pipeline.Graph.Phases()[0]
	var moved []string
	var diags hcl.Diagnostics
	var mu sync.Mutex // one step at a time here: each sees the last one's value
	byName := approved.StepsByName()
	for _, name := range StepNames(main.Graph) {
		was := byName[name]
		if !steps[name] || was == nil || was.LeftOut != "" {
			continue
		}
		now, value, d := pl.planStep(ctx, pl.Pipeline.Config.Step(name), main, values, &mu)
		diags = append(diags, d...)
		values[name] = value
		if !d.HasErrors() {
			moved = append(moved, stepMoved(was, now, pl.downstreamOf(name, ran))...)
		}
	}
	return moved, diags
}

// downstreamOf reports whether a main step depends, directly or not, on
// one of steps.
func (pl *Planner) downstreamOf(name string, steps map[string]bool) bool {
	for _, a := range pl.Pipeline.Graph.Main.Ancestors(StepAddr(name)) {
		if n, ok := a.Step(); ok && steps[n] {
			return true
		}
	}
	return false
}

// stepMoved says how a step re-planned (now) differs from its approved
// plan (was). What the plan knew of its configuration must be the same.
// Then, byChange, its change: the same kind, and when its configuration
// was wholly known at plan (else the plan showed only a placeholder), the
// same summary and change text; otherwise its fingerprint: what its action
// observes.
func stepMoved(was, now *PlannedStep, byChange bool) []string {
	switch {
	case now.Run == DecisionSkip || was.Deferred:
		return nil // it will not run; or what it runs was left to apply
	case was.Run == DecisionSkip:
		return []string{fmt.Sprintf("step %s (%s) now runs: the plan skipped it", now.Name, now.Action)}
	case len(was.Instances) != len(now.Instances):
		return []string{fmt.Sprintf("step %s (%s) now has other instances", now.Name, now.Action)}
	}
	var moved []string
	for i, in := range now.Instances {
		old := was.Instances[i]
		id := fmt.Sprintf("step %s (%s)", instanceID(now.Name, in.Key), now.Action)
		switch {
		case old.Skipped || in.Skipped:
		case old.Key != in.Key:
			moved = append(moved, id+" now has other instances")
		case !refines(old.Config, in.Config):
			moved = append(moved, id+": its configuration evaluates to something else (a file or value it reads changed)"+approvedVsNow(old, in))
		case byChange && old.Kind != "" && old.Kind != in.Kind:
			moved = append(moved, fmt.Sprintf("%s would now %s where the plan said %s", id, kindVerb(in.Kind), kindVerb(old.Kind))+approvedVsNow(old, in))
		case byChange && !hasUnknown(old.Config) && (old.Summary != in.Summary || old.Change != in.Change):
			moved = append(moved, id+" would do something else than what was approved"+approvedVsNow(old, in)+changeText(old, in))
		case !byChange && old.Fingerprint != in.Fingerprint:
			moved = append(moved, id+" observes a change"+approvedVsNow(old, in))
		}
	}
	return moved
}

// approvedVsNow shows the approved summary beside the one of now.
func approvedVsNow(was, now *PlannedInstance) string {
	if was.Summary == now.Summary {
		return ": " + orNothing(now.Summary)
	}
	return fmt.Sprintf("\n      approved: %s\n      now:      %s", orNothing(was.Summary), orNothing(now.Summary))
}

// changeText shows the change of now when only it differs.
func changeText(was, now *PlannedInstance) string {
	if was.Change == now.Change || was.Summary != now.Summary {
		return ""
	}
	return "\n      its change now:\n" + indentLines(strings.TrimRight(now.Change, "\n"), "        ")
}

func indentLines(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func kindVerb(kind string) string {
	switch kind {
	case "no-change":
		return "change nothing"
	case "":
		return "do nothing"
	}
	return kind
}

// refines reports whether now is what was says, where was knew it: a
// value the plan showed as Unknown may be anything now.
func refines(was, now any) bool {
	return refinesJSON(normalJSON(was), normalJSON(now))
}

func refinesJSON(was, now any) bool {
	return zipJSON(was, now, func(was, now any) bool { return was == Unknown || sameJSON(was, now) })
}

// hasUnknown reports whether a planned value holds a part known only
// after apply.
func hasUnknown(v any) bool { return unknownIn(normalJSON(v)) }

func unknownIn(v any) bool {
	switch x := v.(type) {
	case string:
		return x == Unknown
	case map[string]any:
		for _, e := range x {
			if unknownIn(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if unknownIn(e) {
				return true
			}
		}
	}
	return false
}

// normalJSON is v as JSON decodes it (one side may come from a file).
func normalJSON(v any) any {
	raw, _ := json.Marshal(v)
	var back any
	_ = json.Unmarshal(raw, &back)
	return back
}

// stalePlan is the message of a check that failed: head, then what moved,
// or why it could not be told.
func stalePlan(head string, moved []string, diags hcl.Diagnostics) string {
	if diags.HasErrors() {
		return fmt.Sprintf("%s: cannot tell whether the steps would still do what was approved: %s", head, diagnosticsText(diags))
	}
	return fmt.Sprintf("%s: the steps would not do what was approved (the world moved):\n  - %s", head, strings.Join(moved, "\n  - "))
}

// checkBehindGate re-plans the steps behind a gate as it opens and stops
// the run when what they would do is no longer what was approved.
func (rn *run) checkBehindGate(ctx context.Context, gate string) *GateFailure {
	behind := rn.behind(Addr(gate))
	if rn.Plan == nil || len(behind) == 0 {
		return nil
	}
	values, ran := rn.soFar()
	pl := &Planner{Pipeline: rn.Pipeline, Host: rn.Host, Redactor: rn.Redactor}
	moved, diags := pl.recheck(ctx, rn.Plan, behind, values, ran)
	if ctx.Err() != nil || (len(moved) == 0 && !diags.HasErrors()) {
		return nil // a cancelled run stops at the gate anyway
	}
	msg := stalePlan(gate+" opened but nothing behind it ran", moved, diags) + "\nPlan again and have the new plan approved"
	rn.emit(Event{Type: GateStale, Gate: gate, Message: msg})
	return &GateFailure{Gate: gate, Reason: v1.GateStatusStale, Message: msg}
}

// behind lists the main steps a gate holds back that have not finished:
// its step, or its stage's steps, and everything downstream of them.
func (rn *run) behind(gate Addr) map[string]bool {
	var roots []Addr
	if name, ok := gate.Stage(); ok {
		roots = append(roots, gate)
		for _, s := range rn.Pipeline.Config.Stage(name).Steps {
			roots = append(roots, StepAddr(s.Name))
		}
	} else {
		roots = append(roots, gate)
	}
	g := rn.Pipeline.Graph.Main
	rn.mu.Lock()
	defer rn.mu.Unlock()
	out := map[string]bool{}
	for _, root := range roots {
		for _, a := range append(g.Descendants(root), root) {
			if name, ok := a.Step(); ok && g.Has(a) {
				if _, finished := rn.status[name]; !finished {
					out[name] = true
				}
			}
		}
	}
	return out
}

// soFar is what the steps evaluate to now — the real value of those that
// finished, the plan's for the others — and which ran (and so may have
// moved what the steps after them observe).
func (rn *run) soFar() (values map[string]cty.Value, ran map[string]bool) {
	values, ran = maps.Clone(rn.Plan.Values), map[string]bool{}
	if values == nil {
		values = map[string]cty.Value{}
	}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for name, st := range rn.status {
		values[name] = rn.values[name]
		ran[name] = st.Ran()
	}
	return values, ran
}
