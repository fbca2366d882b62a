package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/go-version"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/sdk/client"
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
			cfg, diags := dsl.Load(pathArg(args))
			if diags.HasErrors() {
				_ = dsl.WriteDiagnostics(cmd.ErrOrStderr(), diags, cfg.Files, 100, useColor(cmd, noColor))
				return exitError(1)
			}
			return runInit(cmd, cfg, upgrade)
		},
	}
	cmd.Flags().BoolVar(&upgrade, "upgrade", false, "accept plugin binaries whose checksum changed")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "no colors in the output")
	return cmd
}

func runInit(cmd *cobra.Command, cfg *dsl.Config, upgrade bool) error {
	p := &engine.Pipeline{Config: cfg}
	lock, diags := pluginhost.ReadLock(cfg.Dir)
	if diags.HasErrors() {
		_ = dsl.WriteDiagnostics(cmd.ErrOrStderr(), diags, nil, 100, false)
		return exitError(1)
	}
	plugins := p.Plugins()
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	out := cmd.OutOrStdout()
	failed := false
	for _, name := range names {
		entry, err := lockPlugin(cmd.Context(), cfg, name, plugins[name], lock, upgrade)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "✗ %s: %v\n", name, err)
			failed = true
			continue
		}
		lock.Plugins[name] = entry
		fmt.Fprintf(out, "✓ %s %s (sha256 %s…)\n", name, entry.Version, entry.SHA256[:12])
	}
	if failed {
		return exitError(1)
	}
	if err := lock.Write(cfg.Dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "Wrote %s. pipectl is ready: run `pipectl plan`.\n", pluginhost.LockFileName)
	return nil
}

// lockPlugin finds, checks and describes one plugin for the lock file.
func lockPlugin(ctx context.Context, cfg *dsl.Config, name, source string, lock *pluginhost.Lock, upgrade bool) (pluginhost.LockedPlugin, error) {
	var none pluginhost.LockedPlugin
	path, err := pluginhost.Find(name, source, cfg.Dir)
	if err != nil {
		return none, err
	}
	sum, err := pluginhost.Checksum(path)
	if err != nil {
		return none, err
	}
	if old, ok := lock.Plugins[name]; ok && old.SHA256 != sum && !upgrade {
		return none, fmt.Errorf("%s does not match the checksum locked in %s (%s…, found %s…): "+
			"if you trust this binary, run `pipectl init -upgrade`", path, pluginhost.LockFileName, old.SHA256[:12], sum[:12])
	}
	plugin, err := pluginhost.Launch(ctx, client.LaunchConfig{Path: path})
	if err != nil {
		return none, err
	}
	defer plugin.Close()
	schema, err := plugin.Schema(ctx)
	if err != nil {
		return none, err
	}
	if schema.Name != name {
		return none, fmt.Errorf("%s says it is plugin %q, not %q", path, schema.Name, name)
	}
	if req := cfg.Plugins[name]; req != nil && req.Version != "" {
		if err := checkVersion(schema.Version, req.Version); err != nil {
			return none, err
		}
	}
	return pluginhost.LockedPlugin{Version: schema.Version, SHA256: sum}, nil
}

func checkVersion(have, constraint string) error {
	v, err := version.NewVersion(have)
	if err != nil {
		return fmt.Errorf("the plugin reports version %q, which is not a version number", have)
	}
	c, err := version.NewConstraint(constraint)
	if err != nil {
		return fmt.Errorf("invalid version constraint %q: %v", constraint, err)
	}
	if !c.Check(v) {
		return fmt.Errorf("version %s does not satisfy the constraint %q of its plugin block", have, constraint)
	}
	return nil
}
