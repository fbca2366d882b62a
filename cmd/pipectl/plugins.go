package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
)

func newPluginsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "plugins [DIR]",
		Short: "List the pipeline's plugins: where they are, what is locked, their actions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, diags := dsl.Load(pathArg(args))
			if diags.HasErrors() {
				_ = dsl.WriteDiagnostics(cmd.ErrOrStderr(), diags, cfg.Files, 100, false)
				return exitError(1)
			}
			return listPlugins(cmd, cfg)
		},
	}
}

func listPlugins(cmd *cobra.Command, cfg *dsl.Config) error {
	lock, diags := pluginhost.ReadLock(cfg.Dir)
	if diags.HasErrors() {
		return fmt.Errorf("%s", diags.Error())
	}
	plugins := (&engine.Pipeline{Config: cfg}).Plugins()
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	host := pluginhost.NewHost(cfg.Dir, plugins, lock, nil)
	defer host.Close()
	out := cmd.OutOrStdout()
	for _, name := range names {
		path, err := pluginhost.Find(name, plugins[name], cfg.Dir)
		if err != nil {
			fmt.Fprintf(out, "%s\n  not found: %v\n", name, err)
			continue
		}
		locked, ok := lock.Plugins[name]
		if !ok {
			fmt.Fprintf(out, "%s\n  path:   %s\n  locked: no (run pipectl init)\n", name, path)
			continue
		}
		fmt.Fprintf(out, "%s %s\n  path:   %s\n  sha256: %s\n", name, locked.Version, path, locked.SHA256)
		_, schema, err := host.Plugin(cmd.Context(), name)
		if err != nil {
			fmt.Fprintf(out, "  error:  %v\n", err)
			continue
		}
		actions := make([]string, 0, len(schema.Actions))
		for a := range schema.Actions {
			actions = append(actions, a)
		}
		sort.Strings(actions)
		fmt.Fprintf(out, "  actions: %s\n", strings.Join(actions, ", "))
	}
	return nil
}
