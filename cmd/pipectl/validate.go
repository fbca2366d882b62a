package main

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/internal/view"
)

func newValidateCommand() *cobra.Command {
	var f pipelineFlags
	cmd := &cobra.Command{
		Use:   "validate [DIR|FILE]",
		Short: "Check a pipeline: syntax, references, types, the DAG and plugin schemas",
		Long: `Checks a pipeline without running anything: HCL syntax, blocks and
attributes, references (with "did you mean" suggestions), variable values and
validation rules for the chosen environment, the step graph (cycles), and —
for plugins locked by pipectl init — every step's configuration against the
plugin's schema. Exit status 0 when valid, 1 on errors.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd, &f, pathArg(args))
		},
	}
	f.register(cmd)
	return cmd
}

func runValidate(cmd *cobra.Command, f *pipelineFlags, path string) error {
	in, err := f.inputs()
	if err != nil {
		return err
	}
	in.AllowUnset = true // like terraform validate: values may be decided later
	redactor := engine.NewRedactor()
	var p *engine.Pipeline
	v := &view.Validate{Base: f.base(cmd, &p, redactor)}
	p, diags := engine.Load(path, in)
	p.LearnSecrets(redactor)
	if !diags.HasErrors() {
		diags = append(diags, checkSchemas(cmd.Context(), p, redactor)...)
	}
	steps := 0
	if p.Config != nil {
		steps = len(p.Config.Steps())
	}
	v.Result(diags, fmt.Sprintf("The pipeline is valid: %d %s in %d %s.",
		steps, plural(steps, "step", "steps"), len(p.Config.Stages), plural(len(p.Config.Stages), "stage", "stages")))
	if diags.HasErrors() {
		return exitError(1)
	}
	return nil
}

// checkSchemas validates step configs against the plugins that are locked.
func checkSchemas(ctx context.Context, p *engine.Pipeline, redactor *engine.Redactor) hcl.Diagnostics {
	lock, diags := pluginhost.ReadLock(p.Config.Dir)
	if diags.HasErrors() {
		return diags
	}
	host := p.NewHost(lock, pluginLogger(redactor), redactor)
	defer host.Close()
	pl := &engine.Planner{Pipeline: p, Host: host, Redactor: redactor}
	return pl.Validate(ctx, func(name string) bool { _, ok := lock.Plugins[name]; return !ok })
}
