package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/operation"
)

func newRunsReportCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report RUN [DIR]",
		Short: "Write the report of a run: one self-contained HTML file",
		Long: `Writes the report of a recorded run as one HTML file that needs nothing else
to open (no network, no server; its styles and script are inside): the graph of
the steps, a timeline of every step and attempt, each step's status, duration,
outputs, log and artifacts (Markdown ones rendered), the failure handlers,
approvals, and the plan that was applied. It is made from the run record, in
which secrets are already redacted. RUN is a run id, or latest.

-o defaults to pipectl-run-RUN.html in the current directory; -o DIR (an existing
directory) writes that file in DIR.`,
		Args: runArgs(2, aRecordedRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := (&operation.Report{ID: args[0], Dir: pathArg(args[1:]), Backend: backend, Out: out}).Run()
			if err != nil {
				return err
			}
			notices(cmd).ReportWritten(r.ID, r.Path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the HTML file to write")
	return cmd
}
