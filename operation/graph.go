package operation

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
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
	p, diags := engine.Load(path, in)
	p.LearnSecrets(o.cfg.Redactor)
	return &Graphed{Pipeline: p}, diags
}
