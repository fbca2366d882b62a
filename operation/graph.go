package operation

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/internal/view"
)

// Graph loads a pipeline for its step graph; the graph does not depend on
// values, so variables may be unset.
type Graph struct {
	cfg    *Configuration
	Inputs dsl.Inputs
}

// NewGraph is a Graph on cfg.
func NewGraph(cfg *Configuration) *Graph { return &Graph{cfg: cfg} }

// Graphed is a loaded pipeline (never nil, for the diagnostics' files);
// its Graph is the step graph.
type Graphed struct{ Pipeline *engine.Pipeline }

// Files are the pipeline's source files, for the diagnostics.
func (g *Graphed) Files() map[string]*hcl.File { return sourceFiles(g.Pipeline) }

// Run loads the pipeline at path.
func (o *Graph) Run(path string) (*Graphed, hcl.Diagnostics) {
	in := o.Inputs
	in.AllowUnset = true
	p, diags := engine.LoadWith(path, in, dsl.ReparseStepSyntax) // it reads no step's config
	p.LearnSecrets(o.cfg.Redactor)
	return &Graphed{Pipeline: p}, diags
}

// Drawing is the pipeline's graph as the views draw it.
func (g *Graphed) Drawing() view.Graph {
	out := view.Graph{Config: g.Pipeline.Graph.Config}
	for _, ph := range g.Pipeline.Graph.Phases() {
		out.Phases = append(out.Phases, view.GraphPhase{Name: ph.Name, Stage: ph.Stage, Steps: engine.StepNames(ph.Graph), Graph: ph.Graph})
	}
	return out
}
