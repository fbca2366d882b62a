package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// NewHost is the plugin host of a run of the pipeline: its plugins found
// from their blocks' sources, checked against the lock, and configured
// with their blocks' settings.
func (p *Pipeline) NewHost(lock *pluginhost.LockFile, logger hclog.Logger, r *Redactor) *pluginhost.Host {
	h := pluginhost.NewHost(p.Config.Dir, p.Plugins(), lock, logger)
	h.Configure = p.PluginConfigurer(r)
	return h
}

// PluginConfigurer is the plugin host's Configure hook: it decodes the
// settings of one plugin configuration ("k8s", "k8s.eu") against the
// schema the plugin published, with variables, env and locals, and sends
// them. Problems come back as hcl.Diagnostics on the plugin block.
func (p *Pipeline) PluginConfigurer(r *Redactor) func(context.Context, string, *client.Plugin, *sdk.Schema) error {
	return func(ctx context.Context, key string, plugin *client.Plugin, schema *sdk.Schema) error {
		body, rng := p.Config.PluginSettings(key)
		settings, diags := p.decodeSettings(key, body, schema)
		if diags.HasErrors() {
			return diags
		}
		r.AddValue(settings)
		if !wholeKnown(settings) {
			// Only validate, with a variable it treats as unknown, gets
			// here: the settings type-checked, and the plugin validates
			// steps unconfigured.
			return nil
		}
		pd, err := plugin.Configure(ctx, settings)
		if err != nil {
			return err
		}
		diags = append(diags, settingsDiagnostics(key, body, rng, pd)...)
		if diags.HasErrors() {
			return diags
		}
		return nil
	}
}

func (p *Pipeline) decodeSettings(key string, body hcl.Body, schema *sdk.Schema) (cty.Value, hcl.Diagnostics) {
	if body == nil {
		return cty.EmptyObjectVal, nil
	}
	if schema.Settings == nil {
		return cty.EmptyObjectVal, noSettings(key, body)
	}
	return dsl.DecodeBody(body, blockSchema(schema.Settings), p.Scope.EvalContext(nil, nil))
}

// noSettings reports the attributes of a plugin block whose plugin takes
// no settings; a misspelt source or version is the likely cause.
func noSettings(key string, body hcl.Body) hcl.Diagnostics {
	attrs, diags := body.JustAttributes()
	for _, a := range attrs {
		detail := fmt.Sprintf("Plugin %q takes no settings: its block accepts only source, version and alias.", key)
		if sug := dsl.Suggest(a.Name, []string{"source", "version", "alias"}, ""); sug != "" {
			detail += sug
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument",
			Detail: detail, Subject: a.NameRange.Ptr()})
	}
	return diags
}

// settingsDiagnostics places what the plugin said of its settings on the
// plugin block's attributes.
func settingsDiagnostics(key string, body hcl.Body, rng hcl.Range, pd sdk.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(pd))
	for _, d := range pd {
		sev := hcl.DiagError
		if d.Severity == sdk.Warning {
			sev = hcl.DiagWarning
		}
		subject := rng
		if body != nil && len(d.Attribute) > 0 {
			subject = dsl.AttributeRange(body, d.Attribute)
		}
		out = append(out, &hcl.Diagnostic{Severity: sev, Summary: fmt.Sprintf("Plugin %q: %s", key, d.Summary),
			Detail: d.Detail, Subject: subject.Ptr()})
	}
	return out
}

// launchDiagnostics explains why a step's plugin is unavailable: its
// settings' own diagnostics, or the launch error on the step's action.
func launchDiagnostics(s *dsl.Step, err error) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if errors.As(err, &diags) {
		return diags
	}
	return hcl.Diagnostics{pluginError(s, err)}
}
