package operation

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/sdk/client"
)

// Init finds every plugin a pipeline uses, checks its version against its
// plugin block's constraint, and locks its version and checksum.
type Init struct {
	cfg *Configuration
	// Upgrade accepts plugin binaries whose checksum changed.
	Upgrade bool
	// Locked is told of each plugin as it is locked, or why it cannot be.
	Locked func(name string, entry pluginhost.LockedPlugin, err error)
}

// NewInit is an Init on cfg.
func NewInit(cfg *Configuration) *Init { return &Init{cfg: cfg} }

// Initialized is what Init did.
type Initialized struct {
	Config  *dsl.Config // never nil, for the diagnostics' files
	Plugins []string    // in order
	Lock    *pluginhost.LockFile
	Failed  int  // plugins that could not be locked
	Written bool // the lock file was written (none failed)
}

// Run locks the plugins of the pipeline at path. Problems with the
// pipeline or the lock file are diagnostics; a plugin that cannot be
// locked is told to Locked, counted, and the lock file is then not written.
func (o *Init) Run(ctx context.Context, path string) (*Initialized, hcl.Diagnostics, error) {
	cfg, diags := dsl.LoadWith(path, dsl.ReparseStepSyntax) // it reads no step's config
	out := &Initialized{Config: cfg}
	if diags.HasErrors() {
		return out, diags, nil
	}
	lock, more := pluginhost.ReadLockFile(cfg.Dir)
	diags = append(diags, more...)
	if more.HasErrors() {
		return out, diags, nil
	}
	out.Lock = lock
	plugins := (&engine.Pipeline{Config: cfg}).Plugins()
	for n := range plugins {
		out.Plugins = append(out.Plugins, n)
	}
	sort.Strings(out.Plugins)
	for _, name := range out.Plugins {
		entry, err := o.lockPlugin(ctx, cfg, name, plugins[name], lock)
		if err != nil {
			out.Failed++
		} else {
			lock.Plugins[name] = entry
		}
		if o.Locked != nil {
			o.Locked(name, entry, err)
		}
	}
	if out.Failed > 0 {
		return out, diags, nil
	}
	if err := lock.Write(cfg.Dir); err != nil {
		return out, diags, err
	}
	out.Written = true
	return out, diags, nil
}

// lockPlugin finds, checks and describes one plugin for the lock file.
func (o *Init) lockPlugin(ctx context.Context, cfg *dsl.Config, name, source string, lock *pluginhost.LockFile) (pluginhost.LockedPlugin, error) {
	var none pluginhost.LockedPlugin
	path, err := pluginhost.Find(name, source, cfg.Dir)
	if err != nil {
		return none, err
	}
	sum, err := pluginhost.Checksum(path)
	if err != nil {
		return none, err
	}
	if old, ok := lock.Plugins[name]; ok && old.SHA256 != sum && !o.Upgrade {
		return none, fmt.Errorf("%s does not match the checksum locked in %s (%s…, found %s…): "+
			"if you trust this binary, run `pipectl init -upgrade`", path, pluginhost.LockFileName, old.SHA256[:12], sum[:12])
	}
	plugin, err := pluginhost.Launch(ctx, client.LaunchConfig{Path: path, Logger: o.cfg.logger()})
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
