package main

import (
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newRunsArtifactsCommand() *cobra.Command {
	var asJSON bool
	var out string
	cmd := &cobra.Command{
		Use:   "artifacts RUN [DIR]",
		Short: "List the artifacts the steps of a run attached; -o extracts them",
		Long: `Lists the files the steps of a run attached (scan reports, diagnoses, rendered
files) as the run record keeps them: text with every secret redacted, content
holding a secret that is not text withheld, and content over the record's caps
(16 MiB an artifact, 64 MiB a run) left out; each says so.

With -o DIR each kept artifact is written to DIR/STEP/NAME (DIR/STEP_KEY/NAME for
a for_each instance). Names are made safe: a name as a plugin gave it never
leaves DIR (no .., no /), and a second artifact of the same name (a retry's)
gets -2, -3 before its extension. RUN is a run id, or latest.`,
		Args: runArgs(2, aRecordedRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := (&operation.Artifacts{ID: args[0], Dir: pathArg(args[1:]), Backend: backend, Out: out}).Run()
			if err != nil {
				return err
			}
			view.NewRunArtifacts(runsBase(cmd, asJSON)).List(a.List, a.Files)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the artifacts into this directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "artifact messages as JSON lines (docs/json-events.md)")
	return cmd
}
