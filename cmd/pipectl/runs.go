package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/engine/runs"
	"github.com/pipectl/pipectl/internal/view"
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
			store, err := runs.Open(pathDir(pathArg(args)))
			if err != nil {
				return err
			}
			defer store.Close()
			list, err := store.List()
			if err != nil {
				return err
			}
			runsView(cmd, asJSON).List(list)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable JSON lines (docs/json-events.md)")
	cmd.AddCommand(newRunsShowCommand())
	return cmd
}

func newRunsShowCommand() *cobra.Command {
	var asJSON, logs bool
	cmd := &cobra.Command{
		Use:   "show RUN [DIR]",
		Short: "Show one run: its steps, their outcomes and outputs, and (with -logs) every event",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := runs.Open(pathDir(pathArg(args[1:])))
			if err != nil {
				return err
			}
			defer store.Close()
			run, events, plan, err := store.Get(args[0])
			if err != nil {
				return err
			}
			runsView(cmd, asJSON).Show(run, events, plan, logs)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "the run, its plan and every event as JSON lines (docs/json-events.md)")
	cmd.Flags().BoolVar(&logs, "logs", false, "also print every event: log lines, retries, outcomes")
	return cmd
}

func runsView(cmd *cobra.Command, asJSON bool) *view.Runs {
	base := view.Base{Streams: view.Streams{Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr()}, JSON: asJSON}
	if asJSON {
		base.JSONOut = view.NewJSONStream(cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return &view.Runs{Base: base}
}
