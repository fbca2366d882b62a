package main

import (
	"fmt"
	"math"

	"github.com/dustin/go-humanize"
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
			// -json lists every run's step records; the table counts them.
			list, err := (&operation.ListRuns{Dir: pathArg(args), Backend: backend, Heads: !asJSON}).Run()
			if err != nil {
				return err
			}
			runsView(cmd, asJSON).List(list)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable JSON lines (docs/json-events.md)")
	cmd.AddCommand(newRunsShowCommand(), newRunsPruneCommand(), newRunsLogsCommand(), newRunsArtifactsCommand(),
		newRunsReportCommand(), newRunsMigrateCommand())
	return cmd
}

func newRunsShowCommand() *cobra.Command {
	var asJSON, logs, plan bool
	cmd := &cobra.Command{
		Use:   "show RUN [DIR]",
		Short: "Show one run: its steps, their outcomes and outputs, and (with -logs) every event",
		Args:  runArgs(2, aRecordedRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			shown, err := (&operation.ShowRun{Dir: pathArg(args[1:]), Backend: backend, ID: args[0]}).Run()
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

func runsView(cmd *cobra.Command, asJSON bool) view.RunsView {
	return view.NewRuns(runsBase(cmd, asJSON))
}

// runsBase is the view base of the runs commands: no colors, and with
// -json a JSON lines stream of its own.
func runsBase(cmd *cobra.Command, asJSON bool) view.Base {
	base := view.Base{Streams: view.NewStreams(cmd.OutOrStdout(), cmd.ErrOrStderr(), false, 0), JSON: asJSON}
	if asJSON {
		base.JSONOut = view.NewJSONStream(cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return base
}

func newRunsPruneCommand() *cobra.Command {
	var keep int
	var maxSize string
	cmd := &cobra.Command{
		Use:   "prune [DIR]",
		Short: "Delete the oldest recorded runs, then give their space back",
		Long: fmt.Sprintf(`Deletes the oldest finished runs of each pipeline and environment beyond -keep,
then the oldest finished runs of any until the record takes at most -max-size
(e.g. 500MiB; 0: no cap). A run going on or waiting at a gate is never deleted.
Every apply already keeps at most the newest %d finished runs per environment.

Then it compacts DIR/.pipectl/runs.db, which deleted runs do not shrink: it
takes the lock of every environment, so it waits for no apply and stops none:
while one is going on it says so and leaves the file as it is. Readers, such as
runs logs -f, go on reading across it.`, operation.DefaultKeep),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			capBytes, err := parseSize(maxSize)
			if err != nil {
				return fmt.Errorf("-max-size: %w", err)
			}
			pruned, err := (&operation.Prune{Dir: pathArg(args), Backend: backend, Keep: keep, MaxBytes: capBytes}).Run(cmd.Context())
			if err != nil {
				return err
			}
			notices(cmd).Pruned(pruned.Pruned, capBytes > 0, pruned.Where, pruned.Compacted, pruned.NotCompacted)
			return nil
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 20, "how many of the newest finished runs of each environment to keep (0: none)")
	cmd.Flags().StringVar(&maxSize, "max-size", "0", "the most the kept runs may take, e.g. 200MiB or 1GiB (0: no cap)")
	return cmd
}

// parseSize reads a size such as 500MiB, 1GB or bytes.
func parseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil || n > math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a size: give bytes, or a number with KiB, MiB, GiB (or kB, MB, GB), e.g. 500MiB", s)
	}
	return int64(n), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
