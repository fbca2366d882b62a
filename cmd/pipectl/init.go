package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/operation"
	"github.com/pipectl/pipectl/engine/pluginhost"
)

func newInitCommand() *cobra.Command {
	var upgrade, noColor bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Find the pipeline's plugins and lock their versions and checksums",
		Long: `Finds every plugin the pipeline uses (plugin blocks and step actions), checks
its version against the plugin block's constraint, and records its version and
sha256 in ` + pluginhost.LockFileName + ` beside the pipeline. Every later run
verifies each plugin binary against that file and refuses one that changed.
Plugins are looked up in DIR/.pipectl/plugins, $PIPECTL_PLUGIN_PATH, beside the
pipectl binary, then $PATH. Use -upgrade to accept binaries that changed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd, pathArg(args), upgrade, noColor)
		},
	}
	cmd.Flags().BoolVar(&upgrade, "upgrade", false, "accept plugin binaries whose checksum changed")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "no colors in the output")
	return cmd
}

func runInit(cmd *cobra.Command, path string, upgrade, noColor bool) error {
	op := operation.NewInit(newConfiguration())
	op.Upgrade = upgrade
	out := cmd.OutOrStdout()
	op.Locked = func(name string, entry pluginhost.LockedPlugin, err error) {
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "✗ %s: %v\n", name, err)
			return
		}
		fmt.Fprintf(out, "✓ %s %s (sha256 %s…)\n", name, entry.Version, entry.SHA256[:12])
	}
	res, diags, err := op.Run(cmd.Context(), path)
	if diags.HasErrors() {
		_ = dsl.WriteDiagnostics(cmd.ErrOrStderr(), diags, res.Config.Files, 100, useColor(cmd, noColor))
		return exitError(1)
	}
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return exitError(1)
	}
	fmt.Fprintf(out, "Wrote %s. pipectl is ready: run `pipectl plan`.\n", pluginhost.LockFileName)
	return nil
}
