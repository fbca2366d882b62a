package operation

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
)

// Validate checks a pipeline without running anything: its language, its
// values (unset variables allowed, like terraform validate: they may be
// decided later), its graph and, for plugins locked by init, every step's
// configuration against its plugin's schema.
type Validate struct {
	cfg    *Configuration
	Inputs dsl.Inputs
}

// NewValidate is a Validate on cfg.
func NewValidate(cfg *Configuration) *Validate { return &Validate{cfg: cfg} }

// Validated is what Validate found: the pipeline (never nil, for the
// diagnostics' files) and its size.
type Validated struct {
	Pipeline *engine.Pipeline
	Steps    int
	Stages   int
}

// Run validates the pipeline at path.
func (v *Validate) Run(ctx context.Context, path string) (*Validated, hcl.Diagnostics) {
	in := v.Inputs
	in.AllowUnset = true
	p, diags := engine.LoadWith(path, in, dsl.ReparseStepSyntax) // each step's config is read once
	p.LearnSecrets(v.cfg.Redactor)
	if !diags.HasErrors() {
		diags = append(diags, v.checkSchemas(ctx, p)...)
	}
	out := &Validated{Pipeline: p}
	if p.Config != nil {
		out.Steps, out.Stages = len(p.Config.Steps()), len(p.Config.Stages)
	}
	return out, diags
}

// Files are the pipeline's source files, for the diagnostics.
func (v *Validated) Files() map[string]*hcl.File { return sourceFiles(v.Pipeline) }

// checkSchemas validates step configs against the plugins that are locked;
// the others are reported as not checked.
func (v *Validate) checkSchemas(ctx context.Context, p *engine.Pipeline) hcl.Diagnostics {
	lock, diags := pluginhost.ReadLockFile(p.Config.Dir)
	if diags.HasErrors() {
		return diags
	}
	host := p.NewHost(lock, v.cfg.logger(), v.cfg.Redactor)
	defer host.Close()
	pl := &engine.Planner{Pipeline: p, Host: host, Redactor: v.cfg.Redactor}
	return pl.Validate(ctx, func(name string) bool { _, ok := lock.Plugins[name]; return !ok })
}
