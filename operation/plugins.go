package operation

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// ListPlugins lists a pipeline's plugins: where each is found, what is
// locked, and the actions of those locked (started to ask them).
type ListPlugins struct {
	cfg *Configuration
	Dir string
}

// NewListPlugins is a ListPlugins on cfg.
func NewListPlugins(cfg *Configuration) *ListPlugins { return &ListPlugins{cfg: cfg} }

// PluginInfo is one plugin of a pipeline, as ListPlugins found it.
type PluginInfo struct {
	Name string
	// Path is where the binary is; NotFound why there is none.
	Path     string
	NotFound error
	// Locked: the lock file names it, with Version and SHA256.
	Locked          bool
	Version, SHA256 string
	// Actions are its actions, or Err why it could not be asked.
	Actions []string
	Err     error
}

// PluginList is a pipeline's plugins, by name, and the pipeline's files
// (for the diagnostics).
type PluginList struct {
	Files   map[string]*hcl.File
	Plugins []PluginInfo
}

// Run lists the plugins. Problems with the pipeline are diagnostics; a
// lock file that cannot be read is an error.
func (o *ListPlugins) Run(ctx context.Context) (*PluginList, hcl.Diagnostics, error) {
	cfg, diags := dsl.LoadWith(o.Dir, dsl.ReparseStepSyntax) // it reads no step's config
	out := &PluginList{Files: cfg.Files}
	if diags.HasErrors() {
		return out, diags, nil
	}
	lock, more := pluginhost.ReadLockFile(cfg.Dir)
	if more.HasErrors() {
		return out, diags, fmt.Errorf("%s", more.Error())
	}
	plugins := (&engine.Pipeline{Config: cfg}).Plugins()
	host := pluginhost.NewHost(cfg.Dir, plugins, lock, o.cfg.logger())
	defer host.Close()
	for _, name := range slices.Sorted(maps.Keys(plugins)) {
		info := PluginInfo{Name: name}
		info.Path, info.NotFound = pluginhost.Find(name, plugins[name], cfg.Dir)
		locked, ok := lock.Plugins[name]
		if info.NotFound == nil && ok {
			info.Locked, info.Version, info.SHA256 = true, locked.Version, locked.SHA256
			var schema *sdk.Schema
			if _, schema, info.Err = host.Plugin(ctx, name); info.Err == nil {
				info.Actions = slices.Sorted(maps.Keys(schema.Actions))
			}
		}
		out.Plugins = append(out.Plugins, info)
	}
	return out, diags, nil
}

// PluginSchema reads the schema a plugin publishes, starting it just long
// enough. A name is found as Init finds it; when the pipeline in Dir has
// locked it, the binary must match the lock, as for a run. A path (with a
// separator) is that binary.
type PluginSchema struct {
	cfg *Configuration
	Dir string
	// Action, when set, must be one of the plugin's actions.
	Action string
	// Examples is a directory of examples, DIR/<action>.hcl and
	// DIR/plugin.hcl, read for the plugin's reference page.
	Examples string
}

// NewPluginSchema is a PluginSchema on cfg.
func NewPluginSchema(cfg *Configuration) *PluginSchema { return &PluginSchema{cfg: cfg, Dir: "."} }

// PluginDoc is a plugin's schema and the examples read for it.
type PluginDoc struct {
	Schema   *sdk.Schema
	Examples map[string]string
}

// Run reads the schema of the plugin nameOrPath.
func (o *PluginSchema) Run(ctx context.Context, nameOrPath string) (*PluginDoc, error) {
	schema, err := o.schema(ctx, nameOrPath)
	if err != nil {
		return nil, err
	}
	if o.Action != "" && schema.Actions[o.Action] == nil {
		return nil, fmt.Errorf("plugin %s has no action %q; its actions are: %s",
			schema.Name, o.Action, strings.Join(slices.Sorted(maps.Keys(schema.Actions)), ", "))
	}
	ex, err := readExamples(o.Examples, schema)
	if err != nil {
		return nil, err
	}
	return &PluginDoc{Schema: schema, Examples: ex}, nil
}

func (o *PluginSchema) schema(ctx context.Context, nameOrPath string) (*sdk.Schema, error) {
	path, name := nameOrPath, filepath.Base(nameOrPath)
	var sum []byte
	if !strings.ContainsRune(nameOrPath, filepath.Separator) {
		name = nameOrPath
		source := ""
		if cfg, diags := dsl.LoadWith(o.Dir, dsl.ReparseStepSyntax); !diags.HasErrors() { // no pipeline here is fine
			source = (&engine.Pipeline{Config: cfg}).Plugins()[name]
		}
		var err error
		if path, err = pluginhost.Find(name, source, o.Dir); err != nil {
			return nil, err
		}
		if lock, diags := pluginhost.ReadLockFile(o.Dir); !diags.HasErrors() {
			if locked, ok := lock.Plugins[name]; ok {
				sum, _ = hex.DecodeString(locked.SHA256)
			}
		}
	}
	p, err := pluginhost.Launch(ctx, client.LaunchConfig{Path: path, SHA256: sum, Logger: o.cfg.logger()})
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	defer p.Close()
	return p.Schema(ctx)
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

// AdoptOrphans makes whatever a plugin started and left behind when it
// died pipectl's to kill (see pluginhost), rather than init's. A command
// calls it once, first.
func AdoptOrphans() error { return client.BecomeSubreaper() }
