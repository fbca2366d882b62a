package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/report"
	"github.com/pipectl/pipectl/record"
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
			store, id, err := openRun(pathArg(args[1:]), args[0])
			if err != nil {
				return err
			}
			name := "pipectl-run-" + id + ".html"
			switch {
			case out == "":
				out = name
			case isDir(out): // -o reports/: the file goes in it
				out = filepath.Join(out, name)
			}
			if err := writeReport(store, id, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote the report of run %s to %s\n", id, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the HTML file to write")
	return cmd
}

// writeReport writes the report of a run to path, whole or not at all:
// into a temporary file beside it, renamed when complete.
func writeReport(store *record.Store, id, path string) error {
	r, err := report.FromStore(store, id) // no run, no file: nothing to clean up
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".pipectl-report-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary file's name means nothing to the user
		}
		return fmt.Errorf("cannot write the report to %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := r.Render(f); err != nil {
		f.Close()
		return fmt.Errorf("cannot write the report of run %s: %w", id, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
