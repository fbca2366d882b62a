//go:build pipectl_legacy_schemas

package main

import (
	"context"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// legacy stands for an action of a plugin built before the SDK refused
// attribute names of step meta-arguments: its own timeout, which it echoes.
type legacy struct{}

func init() { extraActions["legacy"] = legacy{} }

func (legacy) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Echo its own timeout attribute.",
		Block:       sdk.Block{Attributes: map[string]*sdk.Attribute{"timeout": {Type: cty.String}}},
		Outputs:     map[string]*sdk.Attribute{"timeout": {Type: cty.String}},
	}
}

func (legacy) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind, resp.Summary = sdk.PlanRun, "echo its timeout"
}

func (legacy) Apply(_ context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"timeout": req.Config.GetAttr("timeout")})
}
