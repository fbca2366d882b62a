package main

import (
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

func newPluginsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins [DIR]",
		Short: "List the pipeline's plugins: where they are, what is locked, their actions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer withInterrupt(cmd)()
			cfg, diags := dsl.Load(pathArg(args))
			if diags.HasErrors() {
				_ = dsl.WriteDiagnostics(cmd.ErrOrStderr(), diags, cfg.Files, 100, false)
				return exitError(1)
			}
			return listPlugins(cmd, cfg)
		},
	}
	cmd.AddCommand(newPluginsShowCommand(), newPluginsDocsCommand())
	return cmd
}

func listPlugins(cmd *cobra.Command, cfg *dsl.Config) error {
	lock, diags := pluginhost.ReadLockFile(cfg.Dir)
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
			schema, err := pluginSchema(cmd, name, f.dir)
			if err != nil {
				return err
			}
			if action != "" && schema.Actions[action] == nil {
				return fmt.Errorf("plugin %s has no action %q; its actions are: %s",
					schema.Name, action, strings.Join(slices.Sorted(maps.Keys(schema.Actions)), ", "))
			}
			v := &view.PluginSchema{Base: view.Base{
				Streams: view.NewStreams(cmd.OutOrStdout(), cmd.ErrOrStderr(), useColor(cmd, f.noColor), 100),
				JSON:    f.json,
			}}
			v.Show(schema, action)
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
			schema, err := pluginSchema(cmd, args[0], f.dir)
			if err != nil {
				return err
			}
			ex, err := readExamples(examples, schema)
			if err != nil {
				return err
			}
			view.PluginMarkdown(cmd.OutOrStdout(), schema, ex)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", ".", "the pipeline directory whose plugin blocks and lock file to use")
	cmd.Flags().StringVar(&examples, "examples", "", "a directory of examples: <action>.hcl, plugin.hcl")
	return cmd
}

// pluginSchema starts a plugin just long enough to read its schema. A name
// is resolved as init resolves it; when the pipeline in dir has locked it,
// the binary must match the lock, as for a run.
func pluginSchema(cmd *cobra.Command, nameOrPath, dir string) (*sdk.Schema, error) {
	path, name := nameOrPath, filepath.Base(nameOrPath)
	var sum []byte
	if !strings.ContainsRune(nameOrPath, filepath.Separator) {
		name = nameOrPath
		source := ""
		if cfg, diags := dsl.Load(dir); !diags.HasErrors() { // no pipeline here is fine
			source = (&engine.Pipeline{Config: cfg}).Plugins()[name]
		}
		var err error
		if path, err = pluginhost.Find(name, source, dir); err != nil {
			return nil, err
		}
		if lock, diags := pluginhost.ReadLockFile(dir); !diags.HasErrors() {
			if locked, ok := lock.Plugins[name]; ok {
				sum, _ = hex.DecodeString(locked.SHA256)
			}
		}
	}
	p, err := client.Launch(cmd.Context(), client.LaunchConfig{Path: path, SHA256: sum, Logger: pluginLogger(nil)})
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	defer p.Close()
	return p.Schema(cmd.Context())
}

// readExamples reads DIR/<action>.hcl and DIR/plugin.hcl where they exist;
// an example for an action the plugin lacks is an error (a renamed action).
func readExamples(dir string, s *sdk.Schema) (map[string]string, error) {
	out := map[string]string{}
	if dir == "" {
		return out, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no examples (*.hcl) in %s", dir)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hcl")
		if name != "plugin" && s.Actions[name] == nil {
			return nil, fmt.Errorf("example %s: plugin %s has no action %q", f, s.Name, name)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out[name] = string(b)
	}
	return out, nil
}
