package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newPlanCommand() *cobra.Command {
	var f pipelineFlags
	var out string
	var detailed bool
	var sub subsetFlags
	cmd := &cobra.Command{
		Use:   "plan [DIR|FILE]",
		Short: "Show what apply would do, step by step",
		Long: `Validates the pipeline, builds the step graph and asks every step's action
what it would do against the live world (values from upstream steps are
unknown until apply). The plan is printed grouped by stage; -out saves it for
` + "`pipectl apply FILE`" + `, which refuses it if the world moved since.
Sensitive values are never shown or saved. With -detailed-exitcode: 0 when no
main step announces a change, 2 when some do (failure handlers and finally
steps, which may run, do not count), 1 on errors. -target and -only plan
part of the pipeline, as apply runs it; the plan shows what is left out.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := f.inputs()
			if err != nil {
				return err
			}
			defer withInterrupt(cmd)()
			file := out // the name the user gave, for the message
			path, err := operation.EnterPipeline(pathArg(args), operation.NamedFiles(&in, &file)...)
			if err != nil {
				return err
			}
			cfg := newConfiguration()
			op := operation.NewPlan(cfg)
			op.Inputs, op.Out, op.Subset = in, file, sub.subset()
			planned, diags, err := op.Run(cmd.Context(), path)
			v := view.NewPlan(f.base(cmd, cfg, planned.Files))
			v.Diagnostics(diags)
			if diags.HasErrors() {
				return operation.ErrDiagnostics
			}
			v.Show(planned.Plan)
			if err != nil {
				return err
			}
			if out != "" {
				apply := out
				if dir := pathArg(args); dir != "." {
					apply += " " + dir
				}
				v.Saved(out, apply)
			}
			if detailed && planned.Plan.HasChanges() {
				return exitError(exitChanges)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "save the plan to FILE for pipectl apply")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when a main step would change something, 0 when none would, 1 on errors")
	sub.register(cmd)
	return cmd
}
