package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newRunsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs [DIR]",
		Short: "List the recorded runs of a pipeline, newest first",
		Long: `Every apply is recorded in DIR/.pipectl/runs.db as it happens: the plan it
applied, every event (log lines, retries, outcomes, outputs; secrets redacted)
and a summary per step. A run whose process died shows as interrupted, with
everything recorded until then.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := (&operation.ListRuns{Dir: pathArg(args)}).Run()
			if err != nil {
				return err
			}
			runsView(cmd, asJSON).List(list)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable JSON lines (docs/json-events.md)")
	cmd.AddCommand(newRunsShowCommand(), newRunsPruneCommand(), newRunsLogsCommand(), newRunsArtifactsCommand(),
		newRunsReportCommand())
	return cmd
}

func newRunsShowCommand() *cobra.Command {
	var asJSON, logs, plan bool
	cmd := &cobra.Command{
		Use:   "show RUN [DIR]",
		Short: "Show one run: its steps, their outcomes and outputs, and (with -logs) every event",
		Args:  runArgs(2, aRecordedRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			shown, err := (&operation.ShowRun{Dir: pathArg(args[1:]), ID: args[0]}).Run()
			if err != nil {
				return err
			}
			if plan { // what was approved, as plan printed it
				p, err := shown.Plan()
				if err != nil {
					return err
				}
				planView(cmd, asJSON).Show(p)
				return nil
			}
			return runsView(cmd, asJSON).Show(shown.Run, shown.PlanJSON, logs, shown.Events)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "the run, its plan and every event as JSON lines (docs/json-events.md)")
	cmd.Flags().BoolVar(&logs, "logs", false, "also print every event: log lines, retries, outcomes")
	cmd.Flags().BoolVar(&plan, "plan", false, "print the plan the run applies (what was approved), as pipectl plan printed it")
	return cmd
}

func runsView(cmd *cobra.Command, asJSON bool) *view.Runs {
	base := view.Base{Streams: view.NewStreams(cmd.OutOrStdout(), cmd.ErrOrStderr(), false, 0), JSON: asJSON}
	if asJSON {
		base.JSONOut = view.NewJSONStream(cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return &view.Runs{Base: base}
}

func newRunsPruneCommand() *cobra.Command {
	var keep int
	cmd := &cobra.Command{
		Use:   "prune [DIR]",
		Short: "Delete the oldest recorded runs, keeping the newest -keep",
		Long: fmt.Sprintf(`Deletes the oldest finished runs from DIR/.pipectl/runs.db, keeping the newest
-keep (runs still going on are always kept). Every apply already keeps at most
the newest %d runs.`, operation.DefaultKeep),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := (&operation.Prune{Dir: pathArg(args), Keep: keep}).Run()
			if err != nil {
				return err
			}
			notices(cmd).Pruned(n)
			return nil
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 20, "how many of the newest runs to keep")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
