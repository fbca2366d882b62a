package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
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
	defer withInterrupt(cmd)()
	operation.PaceValidate()
	in, err := f.inputs()
	if err != nil {
		return err
	}
	if path, err = operation.EnterPipeline(path, operation.NamedFiles(&in)...); err != nil {
		return err
	}
	cfg := newConfiguration()
	op := operation.NewValidate(cfg)
	op.Inputs = in
	res, diags := op.Run(cmd.Context(), path)
	v := view.NewValidate(f.base(cmd, cfg, res.Files))
	v.Result(diags, fmt.Sprintf("The pipeline is valid: %d %s in %d %s.",
		res.Steps, plural(res.Steps, "step", "steps"), res.Stages, plural(res.Stages, "stage", "stages")))
	if diags.HasErrors() {
		return operation.ErrDiagnostics
	}
	return nil
}
