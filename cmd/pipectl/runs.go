package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/runs"
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
			store, err := runs.OpenExisting(pathDir(pathArg(args)))
			if err != nil {
				return err
			}
			list, err := store.List()
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(list)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tPIPELINE\tENV\tSTATUS\tSTARTED\tDURATION\tSTEPS")
			for _, r := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Pipeline, dash(r.Environment), r.Status,
					r.Started.Local().Format(time.DateTime), duration(r.Started, r.Finished), len(r.Steps))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable JSON output")
	cmd.AddCommand(newRunsShowCommand(), newRunsPruneCommand())
	return cmd
}

func newRunsShowCommand() *cobra.Command {
	var asJSON, logs bool
	cmd := &cobra.Command{
		Use:   "show RUN [DIR]",
		Short: "Show one run: its steps, their outcomes and outputs, and (with -logs) every event",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := runs.OpenExisting(pathDir(pathArg(args[1:])))
			if err != nil {
				return err
			}
			if asJSON {
				return showJSON(cmd.OutOrStdout(), store, args[0])
			}
			return showText(cmd.OutOrStdout(), store, args[0], logs)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "the run, its plan and every event as JSON")
	cmd.Flags().BoolVar(&logs, "logs", false, "also print every event: log lines, retries, outcomes")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func duration(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "-"
	}
	return end.Sub(start).Round(time.Millisecond).String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// showText prints a run's summary, then (with logs) its events as they are
// read from the database.
func showText(out io.Writer, store *runs.Store, id string, logs bool) error {
	run, _, err := store.Show(id, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Run %s of pipeline %q", run.ID, run.Pipeline)
	if run.Environment != "" {
		fmt.Fprintf(out, " in %s", run.Environment)
	}
	fmt.Fprintf(out, ": %s, started %s, took %s\n", run.Status, run.Started.Local().Format(time.DateTime), duration(run.Started, run.Finished))
	if run.RecordFailed != "" {
		fmt.Fprintf(out, "The record is incomplete: %s.\n", run.RecordFailed)
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STEP\tPHASE\tACTION\tSTATUS\tATTEMPTS\tDURATION\tOUTPUT\tMESSAGE")
	for _, s := range run.Steps {
		name := s.Step
		if s.Instance != "" {
			name = fmt.Sprintf("%s[%q]", s.Step, s.Instance)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", name, s.Phase, s.Action, s.Status, s.Attempts,
			duration(s.Started, s.Finished), outputSize(s), firstLine(s.Message))
	}
	_ = w.Flush()
	if !logs {
		return nil
	}
	fmt.Fprintln(out, "\nEvents:")
	_, _, err = store.Show(id, func(e engine.Event) error {
		_, err := fmt.Fprintf(out, "%s %-14s %s %s\n", e.Time.Local().Format("15:04:05.000"), e.Type, e.Step, firstLine(e.Message))
		return err
	})
	return err
}

// showJSON writes {"run": ..., "plan": ..., "events": [...]}, each event
// as it is read.
func showJSON(out io.Writer, store *runs.Store, id string) error {
	run, plan, err := store.Show(id, nil)
	if err != nil {
		return err
	}
	runJSON, err := json.Marshal(run)
	if err != nil {
		return err
	}
	if len(plan) == 0 {
		plan = json.RawMessage("null")
	}
	fmt.Fprintf(out, `{"run":%s,"plan":%s,"events":[`, runJSON, plan)
	first := true
	_, _, err = store.Show(id, func(e engine.Event) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if !first {
			out.Write([]byte{','})
		}
		first = false
		_, err = out.Write(b)
		return err
	})
	fmt.Fprintln(out, "]}")
	return err
}

func outputSize(s runs.StepRecord) string {
	if s.OutputBytes == 0 {
		return "-"
	}
	return fmt.Sprintf("%d lines, %d B", s.OutputLines, s.OutputBytes)
}

func newRunsPruneCommand() *cobra.Command {
	var keep int
	cmd := &cobra.Command{
		Use:   "prune [DIR]",
		Short: "Delete the oldest recorded runs, keeping the newest -keep",
		Long: fmt.Sprintf(`Deletes the oldest finished runs from DIR/.pipectl/runs.db, keeping the newest
-keep (runs still going on are always kept). Every apply already keeps at most
the newest %d runs.`, runs.DefaultKeep),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keep < 0 {
				return fmt.Errorf("-keep must be 0 or more, not %d", keep)
			}
			store, err := runs.OpenExisting(pathDir(pathArg(args)))
			if err != nil {
				return err
			}
			n, err := store.Prune(keep)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted %d %s.\n", n, plural(n, "run", "runs"))
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
