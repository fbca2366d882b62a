package main

import (
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newPluginsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins [DIR]",
		Short: "List the pipeline's plugins: where they are, what is locked, their actions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer withInterrupt(cmd)()
			op := operation.NewListPlugins(newConfiguration())
			op.Dir = pathArg(args)
			list, diags, err := op.Run(cmd.Context())
			if diags.HasErrors() {
				v := commandBase(cmd, false, true, nil, func() map[string]*hcl.File { return list.Files })
				v.Width = 100
				v.Diagnostics(diags)
				return operation.ErrDiagnostics
			}
			if err != nil {
				return err
			}
			printPlugins(cmd, list.Plugins)
			return nil
		},
	}
	cmd.AddCommand(newPluginsShowCommand(), newPluginsDocsCommand())
	return cmd
}

func printPlugins(cmd *cobra.Command, plugins []operation.PluginInfo) {
	v := &view.PluginList{Base: commandBase(cmd, false, true, nil, nil)}
	for _, p := range plugins {
		switch {
		case p.NotFound != nil:
			v.NotFound(p.Name, p.NotFound)
		case !p.Locked:
			v.NotLocked(p.Name, p.Path)
		default:
			v.Locked(p.Name, p.Version, p.Path, p.SHA256, p.Actions, p.Err)
		}
	}
}

// schemaFlags are the flags of `plugins show` and `plugins docs`.
type schemaFlags struct {
	dir     string
	json    bool
	noColor bool
}

func newPluginsShowCommand() *cobra.Command {
	var f schemaFlags
	cmd := &cobra.Command{
		Use:   "show PLUGIN[.ACTION]",
		Short: "Print a plugin's settings and its actions' arguments, blocks and outputs, from its own schema",
		Long: "Print what a plugin accepts, from the schema the plugin itself publishes: its settings, and for\n" +
			"each action (or the one named) every argument, nested block and output, with its type, whether it\n" +
			"is required or sensitive, and its description. PLUGIN is a name, found as `pipectl init` finds it\n" +
			"(the pipeline's plugin block source, .pipectl/plugins, $PIPECTL_PLUGIN_PATH, beside pipectl, $PATH),\n" +
			"or the path of a plugin binary.",
		Example: "  pipectl plugins show std.exec\n  pipectl plugins show std -json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer withInterrupt(cmd)()
			name, action, _ := strings.Cut(args[0], ".")
			if strings.ContainsRune(args[0], filepath.Separator) {
				name, action = args[0], ""
			}
			op := operation.NewPluginSchema(newConfiguration())
			op.Dir, op.Action = f.dir, action
			doc, err := op.Run(cmd.Context(), name)
			if err != nil {
				return err
			}
			v := view.NewPluginSchema(view.Base{
				Streams: view.NewStreams(cmd.OutOrStdout(), cmd.ErrOrStderr(), useColor(cmd, f.noColor), 100),
				JSON:    f.json,
			})
			v.Show(doc.Schema, action)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", ".", "the pipeline directory whose plugin blocks and lock file to use")
	cmd.Flags().BoolVar(&f.json, "json", false, "machine-readable JSON output (the schema document)")
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "no colors in the output")
	return cmd
}

func newPluginsDocsCommand() *cobra.Command {
	var f schemaFlags
	var examples string
	cmd := &cobra.Command{
		Use:   "docs PLUGIN",
		Short: "Write a Markdown reference page for a plugin, generated from its schema",
		Long: "Write a Markdown reference of a plugin to stdout, generated from the schema the plugin publishes\n" +
			"(as tfplugindocs does for Terraform providers): its settings, and every action's arguments, nested\n" +
			"blocks and outputs. With -examples DIR, DIR/<action>.hcl (and DIR/plugin.hcl for the settings) is\n" +
			"shown as the action's example. PLUGIN is found as by `plugins show`.",
		Example: "  pipectl plugins docs std -examples plugins/std/examples > docs/plugins/std.md",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer withInterrupt(cmd)()
			op := operation.NewPluginSchema(newConfiguration())
			op.Dir, op.Examples = f.dir, examples
			doc, err := op.Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			view.PluginMarkdown(cmd.OutOrStdout(), doc.Schema, doc.Examples)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", ".", "the pipeline directory whose plugin blocks and lock file to use")
	cmd.Flags().StringVar(&examples, "examples", "", "a directory of examples: <action>.hcl, plugin.hcl")
	return cmd
}
