package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// greet composes a greeting. It shows each part of the action API: a
// schema, static validation, a plan with planned outputs, events, outputs.
type greet struct{}

// greet has static checks: say so at compile time, so that a typo in
// ValidateConfig's signature cannot silently turn them off.
var _ sdk.ActionWithValidateConfig = greet{}

// greetConfig is the config, decoded with req.Decode. Optional attributes
// decode as zero values when unset; *bool tells "unset" from false.
type greetConfig struct {
	Name  string `cty:"name"`
	Style string `cty:"style"`
	Shout *bool  `cty:"shout"`
}

// greetOutputs are the outputs, set with resp.SetOutputs (see sdk.Encode).
// A cty.Value field keeps its marks: the greeting of a sensitive name is
// sensitive too.
type greetOutputs struct {
	Message cty.Value `cty:"message"`
}

func outputs(msg string, sensitive bool) greetOutputs {
	v := cty.StringVal(msg)
	if sensitive {
		v = v.Mark(sdk.Sensitive)
	}
	return greetOutputs{Message: v}
}

var styles = map[string]string{
	"casual": "Hi, %s!",
	"formal": "Good day, %s.",
	"pirate": "Ahoy, %s!",
}

func (greet) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Compose a greeting.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"name":  {Type: cty.String, Required: true, Description: "Who to greet."},
			"style": {Type: cty.String, Description: `One of "casual" (default), "formal", "pirate".`},
			"shout": {Type: cty.Bool, Description: "Upper-case the greeting."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"message": {Type: cty.String, Description: "The greeting."},
		},
	}
}

// ValidateConfig runs at plan time before Plan, and in `pipectl validate`.
// Values may be unknown here: check only what is known.
func (greet) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	// KnownString is false while style is unset or unknown, and never
	// panics (cty's AsString does on a null, unknown or sensitive value).
	style, ok := sdk.KnownString(req.Config, "style")
	if !ok {
		return
	}
	if _, ok := styles[style]; !ok {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("style"),
			fmt.Sprintf("Unknown style %q", style),
			"Use one of: "+strings.Join(styleNames(), ", ")+".")
	}
}

// Plan says what Apply will do. Nothing is observed, so no fingerprint;
// the message is known at plan time unless the config has unknowns. A
// sensitive name (from a secret variable) is never shown.
func (greet) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun // it changes nothing in the world: it runs
	// Display says "(sensitive)" or "(known after apply)" when it must.
	resp.Summary = "greet " + sdk.Display(req.Config.GetAttr("name"))
	if !req.Config.IsWhollyKnown() {
		return // planned outputs default to unknown
	}
	var cfg greetConfig
	if err := req.Decode(&cfg); err != nil { // Decode drops marks: see below
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	msg, secret := compose(cfg), sdk.IsSensitive(req.Config)
	resp.Change = "+ " + msg
	if secret {
		resp.Change = "+ (sensitive)"
	}
	resp.SetPlannedOutputs(outputs(msg, secret))
}

// Apply does it, streaming a log line and a progress event.
func (greet) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg greetConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	if err := ctx.Err(); err != nil { // cancelled: stop at once
		resp.Diagnostics.AddError("Cancelled", err.Error())
		return
	}
	msg, secret := compose(cfg), sdk.IsSensitive(req.Config)
	shown := msg
	if secret {
		shown = "(sensitive greeting)"
	}
	sdk.Logger(ctx).Debug("greeting", "style", cfg.Style) // to pipectl's log
	req.Events.Log(sdk.Stdout, shown)                     // to the user
	req.Events.Progress(1, "greeted")
	resp.SetOutputs(outputs(msg, secret))
}

func compose(cfg greetConfig) string {
	format, ok := styles[cfg.Style]
	if !ok {
		format = styles["casual"]
	}
	msg := fmt.Sprintf(format, cfg.Name)
	if cfg.Shout != nil && *cfg.Shout {
		msg = strings.ToUpper(msg)
	}
	return msg
}

func styleNames() []string {
	names := make([]string, 0, len(styles))
	for n := range styles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
