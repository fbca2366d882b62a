package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/gate"
)

// Pipeline is a loaded, bound pipeline: its configuration, the values of
// this run (variables, environment, locals) and its step graph.
type Pipeline struct {
	Config *dsl.Config
	Scope  *dsl.Scope
	Graph  *Graph
	// Gates are the evaluated approvals and windows by address
	// (stage.NAME, step.NAME); only those that hold something back.
	Gates map[string]*gate.Gate
}

// Load reads, binds and compiles a pipeline. The result is never nil, so
// diagnostics can be rendered with its Config.Files.
func Load(path string, in dsl.Inputs) (*Pipeline, hcl.Diagnostics) {
	return LoadWith(path, in, dsl.KeepStepSyntax)
}

// LoadWith is Load keeping what syntax says of the steps' configuration
// (validate asks for ReparseStepSyntax).
func LoadWith(path string, in dsl.Inputs, syntax dsl.StepSyntax) (*Pipeline, hcl.Diagnostics) {
	cfg, diags := dsl.LoadWith(path, syntax)
	p := &Pipeline{Config: cfg}
	if diags.HasErrors() {
		return p, diags
	}
	var more hcl.Diagnostics
	p.Scope, more = cfg.Bind(in)
	diags = append(diags, more...)
	p.Graph, more = BuildGraph(cfg)
	diags = append(diags, more...)
	if !diags.HasErrors() {
		diags = append(diags, p.EvalGates()...)
	}
	return p, diags
}

// LearnSecrets teaches a redactor the run's sensitive variables, so that
// even a diagnostic that quotes one (a validation message, say) is redacted.
func (p *Pipeline) LearnSecrets(r *Redactor) {
	if p.Scope == nil {
		return
	}
	for _, v := range p.Scope.Vars {
		r.AddValue(v)
	}
	for _, v := range p.Scope.RawSecrets {
		r.AddValue(v.Mark(dsl.SensitiveMark))
	}
}

// Plugins maps every plugin the pipeline uses, from its plugin blocks and
// its steps' actions, to the source of its plugin block ("" without one).
func (p *Pipeline) Plugins() map[string]string {
	out := map[string]string{}
	for _, s := range p.Config.Steps() {
		if s.Action.Plugin != "" {
			out[s.Action.Plugin] = ""
		}
	}
	for name, req := range p.Config.Plugins {
		out[name] = req.Source
	}
	return out
}

// ConfigDigest is a checksum of every file of the pipeline, so that a saved
// plan is refused once the pipeline it was made from has changed. Var
// files are not the pipeline: their values are compared as variables.
func (p *Pipeline) ConfigDigest() string {
	names := make([]string, 0, len(p.Config.Files))
	for n := range p.Config.Files {
		if !p.Config.VarFiles[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		if f := p.Config.Files[n]; f != nil {
			// Named relative to the pipeline: a plan made in the directory
			// applies from anywhere (Load names files after the path given).
			name := n
			if rel, err := filepath.Rel(p.Config.Dir, n); err == nil {
				name = rel
			}
			fmt.Fprintf(h, "%s\x00%d\x00", name, len(f.Bytes))
			h.Write(f.Bytes)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Source is an expression as written in the pipeline's files, on one line;
// "" for nil.
func (p *Pipeline) Source(expr hcl.Expression) string {
	if expr == nil {
		return ""
	}
	rng := expr.Range()
	f := p.Config.Files[rng.Filename]
	if f == nil || rng.End.Byte > len(f.Bytes) {
		return ""
	}
	lines := strings.Split(string(rng.SliceBytes(f.Bytes)), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}
