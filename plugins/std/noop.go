package main

import (
	"context"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// noop does nothing, predictably: for tests of the engine (outputs,
// failures, stale plans) and for benchmarks of the protocol.
type noop struct{}

func (noop) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Do nothing; echo inputs as outputs. For tests and benchmarks.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"inputs":      {Type: cty.DynamicPseudoType, Description: "Any value; returned as the output inputs."},
			"fail":        {Type: cty.String, Description: "When set, Apply fails with this message."},
			"fingerprint": {Type: cty.String, Description: "Returned as the plan's fingerprint (to test stale plans)."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"inputs":  {Type: cty.DynamicPseudoType, Description: "The inputs, unchanged (sensitive parts stay sensitive)."},
			"step_id": {Type: cty.String, Description: "The step's id as the host sent it."},
		},
	}
}

func (noop) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "do nothing"
	if fp, ok := sdk.KnownString(req.Config, "fingerprint"); ok {
		resp.Fingerprint = fp
	}
	resp.PlannedOutputs = cty.ObjectVal(map[string]cty.Value{
		"inputs":  req.Config.GetAttr("inputs"),
		"step_id": cty.StringVal(req.StepID),
	})
}

func (noop) Apply(_ context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	if msg, ok := sdk.KnownString(req.Config, "fail"); ok {
		resp.Diagnostics.AddError(msg, "noop was asked to fail.")
		return
	}
	resp.Summary = "did nothing"
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"inputs":  req.Config.GetAttr("inputs"),
		"step_id": cty.StringVal(req.StepID),
	})
}
