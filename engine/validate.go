package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk/client"
)

// Validate checks every step's configuration against its plugin's schema
// and the plugin's own ValidateConfig, with every upstream output unknown,
// without planning anything. Plugins for which skip returns true are not
// launched; a warning says their steps were not checked.
func (pl *Planner) Validate(ctx context.Context, skip func(plugin string) bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	skipped := map[string]bool{}
	var checks []*pluginCheck
	for _, s := range pl.Pipeline.Config.Steps() {
		if skip(s.Action.Plugin) {
			skipped[s.Action.Plugin] = true
			continue
		}
		check, d := pl.decodeForValidate(ctx, s)
		diags = append(diags, d...)
		if check != nil {
			checks = append(checks, check)
		}
	}
	diags = append(diags, runChecks(ctx, checks)...)
	diags = append(diags, pl.validateSettings(ctx, skip)...)
	names := make([]string, 0, len(skipped))
	for n := range skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  fmt.Sprintf("Plugin %q is not installed: its steps' configuration was not checked", n),
			Detail:   fmt.Sprintf("Run `pipectl init` once the binary pipectl-plugin-%s is available, so that validate checks every step against the plugin's schema.", n),
		})
	}
	return diags
}

// pluginCheck is one step's decoded config, for its action's own checks.
type pluginCheck struct {
	step   *dsl.Step
	plugin *client.Plugin
	config cty.Value
	diags  hcl.Diagnostics
}

// decodeForValidate decodes a step's config against its action's schema,
// and returns the plugin call still to make when the action has checks of
// its own (most have none, and are spared the round trip).
func (pl *Planner) decodeForValidate(ctx context.Context, s *dsl.Step) (*pluginCheck, hcl.Diagnostics) {
	plugin, schema, diags := pl.plugin(ctx, s)
	if plugin == nil {
		return nil, diags
	}
	rs := pl.resolver().resolve(s, schema, nil, cty.NilVal, cty.NilVal)
	if rs.Action == nil {
		return nil, rs.Diagnostics
	}
	// One instance stands for all: the first for_each key, or each.*
	// unknown (for_each not known, or empty).
	in := &ResolvedInstance{EvalContext: pl.Pipeline.Scope.StepEvalContext(s, nil, nil)}
	if len(rs.Instances) > 0 && rs.Meta.ForEach != nil {
		in = rs.Instances[0]
	}
	diags = append(rs.Diagnostics, metaWarnings(s, schema.Name, rs.Action)...)
	config, d := rs.Decode(in)
	diags = append(diags, d...)
	if d.HasErrors() || !rs.Action.HasValidateConfig {
		return nil, diags
	}
	return &pluginCheck{step: s, plugin: plugin, config: config}, diags
}

// validateConcurrency bounds the ValidateConfig calls in flight: a plugin
// serves them concurrently, so round trips overlap.
const validateConcurrency = 8

// runChecks calls ValidateConfig for every check, concurrently, and
// returns the diagnostics in the checks' order.
func runChecks(ctx context.Context, checks []*pluginCheck) hcl.Diagnostics {
	sem := make(chan struct{}, validateConcurrency)
	var wg sync.WaitGroup
	for _, c := range checks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			pd, err := c.plugin.ValidateConfig(ctx, c.step.Action.Name, c.config)
			if err != nil {
				c.diags = hcl.Diagnostics{pluginError(c.step, err)}
				return
			}
			c.diags = pluginDiagnostics(c.step, pd)
		})
	}
	wg.Wait()
	var diags hcl.Diagnostics
	for _, c := range checks {
		diags = append(diags, c.diags...)
	}
	return diags
}

// validateSettings checks the settings of every plugin block, also of
// configurations no step uses yet, by launching and configuring them.
func (pl *Planner) validateSettings(ctx context.Context, skip func(plugin string) bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(pl.Pipeline.Config.Plugins)) {
		req := pl.Pipeline.Config.Plugins[name]
		if skip(name) {
			continue
		}
		keys := []string{name}
		for _, alias := range slices.Sorted(maps.Keys(req.Aliases)) {
			keys = append(keys, dsl.PluginConfigKey(name, alias))
		}
		for _, key := range keys {
			if pl.unavailable[key] {
				continue // reported on its first step
			}
			if _, _, err := pl.Host.Plugin(ctx, key); err != nil {
				diags = append(diags, launchDiagnostics(&dsl.Step{Action: dsl.ActionRef{Plugin: name, Range: req.DeclRange}}, err)...)
			}
		}
	}
	return diags
}
