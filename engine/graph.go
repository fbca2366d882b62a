// Package engine turns a pipeline configuration into a plan and a plan into
// a run: the step graph, plugin calls, scheduling, failure handlers and the
// events every view renders.
package engine

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/dag"
)

// Phase is one of the graphs of a pipeline, run in this order: main, then
// after a failure each failed stage's on_failure and the pipeline's
// on_failure, and finally always. Its values are what events, plans and
// records say.

// Graph is the dependency structure of a pipeline: one DAG for the main
// steps and stages, and one per block of failure handlers.
type Graph struct {
	Config *dsl.Config
	Main   *dag.Graph[Addr]
	// StageHandlers maps a stage name to the graph of its on_failure steps.
	StageHandlers map[string]*dag.Graph[Addr]
	OnFailure     *dag.Graph[Addr]
	Finally       *dag.Graph[Addr]
	OnWaiting     *dag.Graph[Addr] // run when an approval gate starts waiting
}

// BuildGraph compiles the step graph from depends_on (of steps and stages)
// and from every reference to another step. Cycles are reported with their
// full path and the source ranges that create them.
func BuildGraph(cfg *dsl.Config) (*Graph, hcl.Diagnostics) {
	g := &Graph{
		Config:        cfg,
		Main:          dag.New[Addr](),
		StageHandlers: map[string]*dag.Graph[Addr]{},
		OnFailure:     dag.New[Addr](),
		Finally:       dag.New[Addr](),
		OnWaiting:     dag.New[Addr](),
	}
	var diags hcl.Diagnostics
	for _, st := range cfg.Stages {
		g.Main.Add(StageAddr(st.Name))
		for _, s := range st.Steps {
			g.Main.Add(StepAddr(s.Name))
			g.Main.Connect(StageAddr(st.Name), StepAddr(s.Name))
		}
		if len(st.OnFailure) > 0 {
			g.StageHandlers[st.Name] = handlerGraph(st.OnFailure)
		}
	}
	g.OnFailure = handlerGraph(cfg.OnFailure)
	g.Finally = handlerGraph(cfg.Finally)
	g.OnWaiting = handlerGraph(cfg.OnWaiting)

	for _, st := range cfg.Stages {
		for _, s := range st.Steps {
			diags = append(diags, g.connectStep(g.Main, s, st)...)
		}
		for _, s := range st.OnFailure {
			diags = append(diags, g.connectStep(g.StageHandlers[st.Name], s, nil)...)
		}
	}
	for _, s := range cfg.OnFailure {
		diags = append(diags, g.connectStep(g.OnFailure, s, nil)...)
	}
	for _, s := range cfg.Finally {
		diags = append(diags, g.connectStep(g.Finally, s, nil)...)
	}
	for _, s := range cfg.OnWaiting {
		diags = append(diags, g.connectStep(g.OnWaiting, s, nil)...)
	}
	for _, graph := range g.all() {
		diags = append(diags, g.cycleDiagnostics(graph)...)
	}
	return g, diags
}

func handlerGraph(steps []*dsl.Step) *dag.Graph[Addr] {
	g := dag.New[Addr]()
	for _, s := range steps {
		g.Add(StepAddr(s.Name))
	}
	return g
}

func (g *Graph) all() []*dag.Graph[Addr] {
	out := []*dag.Graph[Addr]{g.Main}
	for _, st := range g.Config.Stages {
		if h := g.StageHandlers[st.Name]; h != nil {
			out = append(out, h)
		}
	}
	return append(out, g.OnFailure, g.Finally, g.OnWaiting)
}

// connectStep adds the edges of one step: its depends_on, its stage's
// depends_on and stage condition references, and its own references. An
// edge is only drawn inside one graph: a handler may read a main step's
// outputs (it has finished by then), but a main step cannot wait for a
// handler, which only runs after a failure.
func (g *Graph) connectStep(graph *dag.Graph[Addr], s *dsl.Step, st *dsl.Stage) hcl.Diagnostics {
	var diags hcl.Diagnostics
	from := StepAddr(s.Name)
	refs, explicit := waitsFor(s, st)
	for i, r := range refs {
		to := Addr(r.String())
		if graph.Has(to) {
			graph.Connect(from, to)
			continue
		}
		if r.Kind == "stage" && graph == g.Main {
			continue // an unknown stage is reported by dsl.Load
		}
		target := g.Config.Step(r.Name)
		if target == nil || (i >= explicit && graph != g.Main) {
			continue // unknown step: dsl.Load reports it; a handler reading a finished step: no edge
		}
		if graph == g.Main && target.Kind != dsl.Main {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Dependency on a failure handler",
				Detail: fmt.Sprintf("Step %q depends on %s, a %s step, which runs only after a failure. "+
					"Move the dependency into a handler, or make %s a regular step.", s.Name, r, target.Kind, r),
				Subject: r.Range.Ptr(),
			})
		}
	}
	for _, r := range s.References() {
		if r.Kind == "step" && graph.Has(StepAddr(r.Name)) {
			graph.Connect(from, StepAddr(r.Name))
		} else if t := g.Config.Step(r.Name); graph == g.Main && t != nil && t.Kind != dsl.Main {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reference to a failure handler",
				Detail:   fmt.Sprintf("Step %q refers to step %q, a %s step that runs only after a failure, so its outputs never exist when %q runs.", s.Name, r.Name, t.Kind, s.Name),
				Subject:  r.Range.Ptr(),
			})
		}
	}
	return diags
}

// waitsFor is what step s waits for besides its references: its own
// depends_on (explicit counts them), then its stage's depends_on and the
// steps its stage's condition reads (st is nil for a handler).
func waitsFor(s *dsl.Step, st *dsl.Stage) (refs []dsl.Ref, explicit int) {
	refs = append([]dsl.Ref{}, s.DependsOn...)
	if st != nil {
		refs = append(refs, st.DependsOn...)
		refs = append(refs, stageConditionRefs(st)...)
	}
	return refs, len(s.DependsOn)
}

// edgeRange is where the edge from → to of graph comes from: the first of
// the step's reasons to wait for to, in connectStep's order. It is found
// again for a cycle's message rather than kept for every edge (a map of
// them was 200 bytes a step of every loaded pipeline, BenchmarkLoad).
func (g *Graph) edgeRange(graph *dag.Graph[Addr], from, to Addr) (hcl.Range, bool) {
	name, ok := from.Step()
	s := g.Config.Step(name)
	if !ok || s == nil {
		return hcl.Range{}, false // a stage: its steps are part of it
	}
	var st *dsl.Stage
	if graph == g.Main {
		st = g.Config.Stage(s.Stage)
	}
	refs, _ := waitsFor(s, st)
	for _, r := range refs {
		if Addr(r.String()) == to {
			return r.Range, true
		}
	}
	for _, r := range s.References() {
		if r.Kind == "step" && StepAddr(r.Name) == to {
			return r.Range, true
		}
	}
	return hcl.Range{}, false
}

// stageConditionRefs are the steps a stage's `when` reads: every step of the
// stage waits for them before the condition is evaluated.
func stageConditionRefs(st *dsl.Stage) []dsl.Ref {
	if st.When == nil {
		return nil
	}
	var refs []dsl.Ref
	for _, t := range st.When.Variables() {
		if t.RootName() != "step" || len(t) < 2 {
			continue
		}
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			refs = append(refs, dsl.Ref{Kind: "step", Name: a.Name, Range: t.SourceRange()})
		}
	}
	return refs
}

func (g *Graph) cycleDiagnostics(graph *dag.Graph[Addr]) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, cycle := range graph.Cycles() {
		path := append(cycle, cycle[0])
		var lines []string
		var subject *hcl.Range
		for i := 0; i+1 < len(path); i++ {
			from, to := path[i], path[i+1]
			rng, ok := g.edgeRange(graph, from, to)
			if !ok {
				lines = append(lines, fmt.Sprintf("  %s is part of %s", to, from))
				continue
			}
			if subject == nil {
				subject = rng.Ptr()
			}
			lines = append(lines, fmt.Sprintf("  %s depends on %s (%s)", from, to, rangeString(rng)))
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Dependency cycle: " + joinAddrs(path, " → "),
			Detail: "These dependencies form a cycle, so none of these steps could ever start:\n" +
				strings.Join(lines, "\n") + "\nRemove one of these references or depends_on entries.",
			Subject: subject,
		})
	}
	return diags
}

func joinAddrs(addrs []Addr, sep string) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	return strings.Join(parts, sep)
}

func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// StepNames lists the steps of a graph in an order that respects their
// dependencies (stage nodes left out).
func StepNames(graph *dag.Graph[Addr]) []string {
	order, _ := graph.TopoSort()
	var names []string
	for _, addr := range order {
		if name, ok := addr.Step(); ok {
			names = append(names, name)
		}
	}
	return names
}

// PhaseGraph is one graph of the pipeline with the name of its phase.
type PhaseGraph struct {
	Name  Phase
	Stage string // for stage_on_failure
	Graph *dag.Graph[Addr]
}

// Phases lists the graphs in the order a failed run would go through
// them, on_waiting (run while the main steps wait at a gate) second.
func (g *Graph) Phases() []PhaseGraph {
	out := []PhaseGraph{{Name: PhaseMain, Graph: g.Main}, {Name: PhaseOnWaiting, Graph: g.OnWaiting}}
	for _, st := range g.Config.Stages {
		if h := g.StageHandlers[st.Name]; h != nil {
			out = append(out, PhaseGraph{Name: PhaseStageOnFailure, Stage: st.Name, Graph: h})
		}
	}
	return append(out, PhaseGraph{Name: PhaseOnFailure, Graph: g.OnFailure}, PhaseGraph{Name: PhaseFinally, Graph: g.Finally})
}

// DirectSteps lists the steps a node waits for directly, looking through
// stage nodes (which stand for all the steps of their stage).
func DirectSteps(graph *dag.Graph[Addr], addr Addr) []string {
	var out []string
	seen := map[Addr]bool{}
	var walk func(Addr)
	walk = func(a Addr) {
		for _, d := range graph.DependenciesOf(a) {
			if seen[d] {
				continue
			}
			seen[d] = true
			if name, ok := d.Step(); ok {
				out = append(out, name)
			} else {
				walk(d)
			}
		}
	}
	walk(addr)
	return out
}
