package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

// Validate checks every step's configuration against its plugin's schema
// and the plugin's own ValidateConfig, with every upstream output unknown,
// without planning anything. Plugins for which skip returns true are not
// launched; a warning says their steps were not checked.
func (pl *Planner) Validate(ctx context.Context, skip func(plugin string) bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	skipped := map[string]bool{}
	for _, s := range pl.Pipeline.Config.Steps() {
		if skip(s.Action.Plugin) {
			skipped[s.Action.Plugin] = true
			continue
		}
		diags = append(diags, pl.validateStep(ctx, s)...)
	}
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

func (pl *Planner) validateStep(ctx context.Context, s *dsl.Step) hcl.Diagnostics {
	plugin, schema, diags := pl.plugin(ctx, s)
	if plugin == nil {
		return diags
	}
	as, diags := actionSchema(s, schema)
	if diags.HasErrors() {
		return diags
	}
	scope := pl.Pipeline.Scope
	meta, d := s.EvalMeta(scope.StepEvalContext(s, nil, nil))
	diags = append(diags, d...)
	var each *dsl.Each
	if s.ForEach != nil {
		each = &dsl.Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}
		if meta != nil && len(meta.ForEach) > 0 {
			k := meta.InstanceKeys()[0]
			each = &dsl.Each{Key: cty.StringVal(k), Value: meta.ForEach[k]}
		}
	}
	config, d := dsl.DecodeBody(s.Config, blockSchema(&as.Block), scope.StepEvalContext(s, nil, each))
	diags = append(diags, d...)
	if d.HasErrors() {
		return diags
	}
	pd, err := plugin.ValidateConfig(ctx, s.Action.Name, config)
	if err != nil {
		return append(diags, pluginError(s, err))
	}
	return append(diags, pluginDiagnostics(s, pd)...)
}
