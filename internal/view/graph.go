package view

import (
	"fmt"
	"io"
	"strings"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/dag"
)

// Graph is a pipeline's graph as the drawings show it: its phases in run
// order, the main one first (engine.Graph.Phases).
type Graph struct {
	Config *dsl.Config
	Phases []GraphPhase
}

// GraphPhase is one graph of the pipeline: the main steps, or a block of
// failure handlers or finally steps.
type GraphPhase struct {
	Name  v1.Phase
	Stage string   // for stage_on_failure
	Steps []string // its steps, in run order
	Graph *dag.Graph[v1.Addr]
}

// cluster is one box of the drawing: a stage, or a block of handlers.
type cluster struct {
	id, label string
	handlers  bool
	steps     []string
	graph     *dag.Graph[v1.Addr]
}

func clusters(g Graph) []cluster {
	var out []cluster
	for _, st := range g.Config.Stages {
		c := cluster{id: st.Name, label: "stage " + st.Name, graph: g.Phases[0].Graph}
		for _, s := range st.Steps {
			c.steps = append(c.steps, s.Name)
		}
		out = append(out, c)
	}
	for _, ph := range g.Phases[1:] {
		c := cluster{id: string(ph.Name), label: string(ph.Name), handlers: true, steps: ph.Steps, graph: ph.Graph}
		if ph.Stage != "" {
			c.id, c.label = ph.Stage+"_on_failure", "on_failure of stage "+ph.Stage
		}
		if len(c.steps) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// edges lists "from runs before to" pairs of a cluster's steps, with
// stage dependencies kept as stage nodes.
func edges(c cluster, fn func(from, to string)) {
	for _, s := range c.steps {
		for _, d := range c.graph.DependenciesOf(v1.StepAddr(s)) {
			if d == v1.StageAddr(c.id) && !c.handlers {
				continue // a step's own stage
			}
			fn(d.String(), v1.StepAddr(s).String())
		}
	}
}

// WriteDOT draws the graph for Graphviz: stages as clusters, arrows from
// what runs first to what runs after.
func WriteDOT(w io.Writer, g Graph) {
	fmt.Fprintf(w, "digraph %q {\n  compound=true;\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n", g.Config.Pipeline.Name)
	for _, c := range clusters(g) {
		style := "rounded"
		if c.handlers {
			style = "dashed"
		}
		fmt.Fprintf(w, "  subgraph %q {\n    label=%q;\n    style=%s;\n", "cluster_"+c.id, c.label, style)
		if !c.handlers {
			fmt.Fprintf(w, "    %q [shape=point, style=invis];\n", "stage."+c.id)
		}
		for _, s := range c.steps {
			fmt.Fprintf(w, "    %q [label=%q];\n", "step."+s, s+"\n"+g.Config.Step(s).Action.String())
		}
		fmt.Fprintf(w, "  }\n")
	}
	for _, c := range clusters(g) {
		edges(c, func(from, to string) {
			attrs := ""
			if stage, ok := strings.CutPrefix(from, "stage."); ok {
				attrs = fmt.Sprintf(" [ltail=%q]", "cluster_"+stage)
			}
			fmt.Fprintf(w, "  %q -> %q%s;\n", from, to, attrs)
		})
	}
	fmt.Fprintf(w, "}\n")
}

// WriteMermaid draws the graph as a Mermaid flowchart.
func WriteMermaid(w io.Writer, g Graph) {
	id := func(addr string) string {
		kind, name, _ := strings.Cut(addr, ".")
		return kind + "_" + strings.NewReplacer("-", "_", ".", "_").Replace(name)
	}
	fmt.Fprintf(w, "flowchart LR\n")
	for _, c := range clusters(g) {
		fmt.Fprintf(w, "  subgraph %s[%q]\n", id("stage."+c.id), c.label)
		for _, s := range c.steps {
			fmt.Fprintf(w, "    %s[\"%s<br/>%s\"]\n", id("step."+s), s, g.Config.Step(s).Action)
		}
		fmt.Fprintf(w, "  end\n")
	}
	for _, c := range clusters(g) {
		edges(c, func(from, to string) { fmt.Fprintf(w, "  %s --> %s\n", id(from), id(to)) })
	}
}
