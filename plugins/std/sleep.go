package main

import (
	"context"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

type sleep struct{}

func (sleep) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Wait for a while: let a rollout settle, space out checks.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"duration": {Type: cty.String, Required: true, Description: `How long, as a Go duration: "30s", "2m".`},
		}},
		Outputs: map[string]*sdk.Attribute{
			"slept": {Type: cty.String, Description: "The duration slept."},
		},
	}
}

func (sleep) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	sdk.ValidateDuration(&resp.Diagnostics, req.Config, "duration")
}

func (sleep) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "sleep " + sdk.Display(req.Config.GetAttr("duration"))
	if d, ok := sdk.KnownString(req.Config, "duration"); ok {
		resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{"slept": cty.StringVal(sdk.DurationOr(d, 0).String())})
	}
}

func (sleep) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	text, _ := sdk.KnownString(req.Config, "duration") // sensitive or not
	d := sdk.DurationOr(text, 0)
	req.Events.Progress(0, "sleeping "+d.String())
	start := time.Now()
	if sdk.Sleep(ctx, d) != nil {
		resp.Diagnostics.AddError("Sleep cancelled", "after "+time.Since(start).Round(time.Millisecond).String())
		return
	}
	req.Events.Progress(1, "done")
	resp.Summary = "slept " + d.String()
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"slept": cty.StringVal(d.String())})
}
