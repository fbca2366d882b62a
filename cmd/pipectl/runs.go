package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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
			store, err := runs.Open(pathDir(pathArg(args)))
			if err != nil {
				return err
			}
			defer store.Close()
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
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]any{"run": run, "plan": plan, "events": events})
			}
			fmt.Fprintf(out, "Run %s of pipeline %q", run.ID, run.Pipeline)
			if run.Environment != "" {
				fmt.Fprintf(out, " in %s", run.Environment)
			}
			fmt.Fprintf(out, ": %s, started %s, took %s\n\n", run.Status, run.Started.Local().Format(time.DateTime), duration(run.Started, run.Finished))
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "STEP\tPHASE\tACTION\tSTATUS\tATTEMPTS\tDURATION\tMESSAGE")
			for _, s := range run.Steps {
				name := s.Step
				if s.Instance != "" {
					name = fmt.Sprintf("%s[%q]", s.Step, s.Instance)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", name, s.Phase, s.Action, s.Status, s.Attempts,
					duration(s.Started, s.Finished), firstLine(s.Message))
			}
			_ = w.Flush()
			if logs {
				fmt.Fprintln(out, "\nEvents:")
				for _, e := range events {
					fmt.Fprintf(out, "%s %-14s %s %s\n", e.Time.Local().Format("15:04:05.000"), e.Type, e.Step, firstLine(e.Message))
				}
			}
			return nil
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
