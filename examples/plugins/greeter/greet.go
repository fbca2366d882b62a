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

// greetConfig is the config, decoded with req.Decode. Optional attributes
// decode as zero values when unset; *bool tells "unset" from false.
type greetConfig struct {
	Name  string `cty:"name"`
	Style string `cty:"style"`
	Shout *bool  `cty:"shout"`
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
	style := req.Config.GetAttr("style")
	if !style.IsKnown() || style.IsNull() {
		return
	}
	if _, ok := styles[style.AsString()]; !ok {
		resp.Diagnostics.AddAttributeError(cty.GetAttrPath("style"),
			fmt.Sprintf("Unknown style %q", style.AsString()),
			"Use one of: "+strings.Join(styleNames(), ", ")+".")
	}
}

// Plan says what Apply will do. Nothing is observed, so no fingerprint;
// the message is known at plan time unless the config has unknowns.
func (greet) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	if !req.Config.IsWhollyKnown() {
		resp.Summary = "greet someone (known after earlier steps apply)"
		return // planned outputs default to unknown
	}
	var cfg greetConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	msg := compose(cfg)
	resp.Summary = "greet " + cfg.Name
	resp.Change = "+ " + msg
	resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal(msg)})
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
	msg := compose(cfg)
	sdk.Logger(ctx).Debug("greeting", "name", cfg.Name) // to pipectl's log
	req.Events.Log(sdk.Stdout, msg)                     // to the user
	req.Events.Progress(1, "greeted")
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal(msg)})
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
