package dsl

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// gate.* is the approval gate that starts waiting, in on_waiting steps:
// what approvers need to be told (where, why, until when) and the
// commands that answer it.

// GateType is the type of gate.*.
var GateType = cty.Object(map[string]cty.Type{
	"address": cty.String, "message": cty.String, "until": cty.String, "approvers": cty.List(cty.String),
	"min_approvals": cty.Number, "parked": cty.Bool, "plan_summary": cty.String,
	"approve_command": cty.String, "reject_command": cty.String, "resume_command": cty.String,
})

var gateAttrs = []string{"address", "approve_command", "approvers", "message", "min_approvals", "parked", "plan_summary", "reject_command",
	"resume_command", "until"}

// WaitingGate is what the engine knows of a gate that starts waiting.
type WaitingGate struct {
	Address, Message, Until string // Until: RFC 3339, "" without a timeout
	Approvers               []string
	MinApprovals            int
	Parked                  bool // the run parks there (apply -park)
	PlanSummary             string
	Approve, Reject, Resume string // the commands
}

// GateValue is gate.* for an on_waiting step.
func GateValue(g WaitingGate) cty.Value {
	approvers := cty.ListValEmpty(cty.String)
	if len(g.Approvers) > 0 {
		var vs []cty.Value
		for _, a := range g.Approvers {
			vs = append(vs, cty.StringVal(a))
		}
		approvers = cty.ListVal(vs)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"address": cty.StringVal(g.Address), "message": cty.StringVal(g.Message), "until": cty.StringVal(g.Until),
		"approvers": approvers, "min_approvals": cty.NumberIntVal(int64(g.MinApprovals)), "parked": cty.BoolVal(g.Parked),
		"plan_summary": cty.StringVal(g.PlanSummary), "approve_command": cty.StringVal(g.Approve),
		"reject_command": cty.StringVal(g.Reject), "resume_command": cty.StringVal(g.Resume),
	})
}

// WithGate makes gate.* visible to an evaluation context.
func WithGate(ctx *hcl.EvalContext, gate cty.Value) *hcl.EvalContext {
	ctx.Variables["gate"] = gate
	return ctx
}

const gateWhy = "gate.* is the approval gate that starts waiting: only the steps of the pipeline's on_waiting block, " +
	"which run then, can use it."

// checkGateRef checks a gate.* reference in a step.
func (l *loader) checkGateRef(t hcl.Traversal, step *Step, name string, hasName bool) {
	if step == nil || step.Kind != OnWaiting {
		l.errorf(t.SourceRange(), "Invalid reference", "%s", gateWhy)
		return
	}
	if len(t) > 1 {
		l.checkFixed(t, name, hasName, "gate", gateAttrs)
	}
}
