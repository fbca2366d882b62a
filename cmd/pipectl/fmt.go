package main

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

type fmtOptions struct {
	check, diff, recursive, list, json bool
}

func newFmtCommand() *cobra.Command {
	var o fmtOptions
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Rewrite pipeline files in the canonical format",
		Long: `Rewrites .hcl files in the canonical format (hclwrite). PATH is a file or a
directory (default: the current directory). With -check nothing is written and the
exit code is 3 when some file is not formatted; files that do not parse are
reported with their diagnostics and exit code 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			return runFmt(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.check, "check", false, "do not write; exit 3 if any file is not formatted")
	f.BoolVar(&o.diff, "diff", false, "print the changes as a unified diff")
	f.BoolVar(&o.recursive, "recursive", false, "also format files in subdirectories")
	f.BoolVar(&o.list, "list", true, "list the files whose formatting differs")
	f.BoolVar(&o.json, "json", false, "machine-readable JSON output")
	return cmd
}

func runFmt(cmd *cobra.Command, o fmtOptions, paths []string) error {
	var sources map[string]*hcl.File
	v := view.NewFmt(commandBase(cmd, o.json, true, nil, func() map[string]*hcl.File { return sources }), o.list)
	op := operation.Fmt{Check: o.check, Diff: o.diff, Recursive: o.recursive, Unformatted: v.Unformatted}
	res, diags, err := op.Run(paths)
	if err != nil {
		return err
	}
	sources = res.Sources
	v.Diagnostics(diags)
	v.Result(res.Files, res.Unformatted)
	if len(diags) > 0 {
		return operation.ErrDiagnostics
	}
	if o.check && res.Unformatted > 0 {
		return exitError(exitUnformatted)
	}
	return nil
}
