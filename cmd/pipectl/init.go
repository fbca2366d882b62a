package main

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newInitCommand() *cobra.Command {
	var upgrade, noColor, asJSON bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Find the pipeline's plugins and lock their versions and checksums",
		Long: `Finds every plugin the pipeline uses (plugin blocks and step actions), checks
its version against the plugin block's constraint, and records its version and
sha256 in ` + operation.LockFileName + ` beside the pipeline. Every later run
verifies each plugin binary against that file and refuses one that changed.
Plugins are looked up in DIR/.pipectl/plugins, $PIPECTL_PLUGIN_PATH, beside the
pipectl binary, then $PATH. Use -upgrade to accept binaries that changed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd, pathArg(args), upgrade, noColor, asJSON)
		},
	}
	cmd.Flags().BoolVar(&upgrade, "upgrade", false, "accept plugin binaries whose checksum changed")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "no colors in the output")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable JSON output")
	return cmd
}

func runInit(cmd *cobra.Command, path string, upgrade, noColor, asJSON bool) error {
	defer withInterrupt(cmd)()
	cfg := newConfiguration()
	var files map[string]*hcl.File
	v := view.NewInit(commandBase(cmd, asJSON, noColor, cfg, func() map[string]*hcl.File { return files }))
	op := operation.NewInit(cfg)
	op.Upgrade, op.Locked = upgrade, v.Locked
	res, diags, err := op.Run(cmd.Context(), path)
	files = res.Config.Files
	v.Diagnostics(diags)
	if diags.HasErrors() {
		return operation.ErrDiagnostics
	}
	if err != nil {
		return err
	}
	v.Result(res.Written)
	if res.Failed > 0 { // the view named each plugin and why
		return exitError(exitNotStarted)
	}
	return nil
}
