package operation

import (
	"fmt"
	"strings"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/gate"
	"github.com/pipectl/pipectl/record"
)

// Gates are Apply's approval and deploy-window options.
type Gates struct {
	// User is who starts the run ("": Who()): recorded, named by the
	// environment's lock, and refused as an approver where a gate forbids
	// self-approval.
	User string
	// Actor is who the CI job says triggered the run (CIActor),
	// recorded as unverified; under four eyes refused as User is.
	Actor string
	// Groups are User's groups, as the backend authenticated them.
	Groups []string
	// PreApprove approves these gates ahead (stage names, or step.NAME),
	// as User, before the run starts.
	PreApprove []string
	// OverrideWindow, when not empty, is why gated stages may start
	// outside their windows and freezes (recorded).
	OverrideWindow string
	// Prompt, when set, asks at the terminal when the run waits for
	// approval, and records the answer as User's.
	Prompt *Prompt
}

// preApprovals checks PreApprove against the plan's gates before anything
// runs: an unknown gate, or one that would refuse User's approval, is an
// error.
func (g *Gates) preApprovals(plan *engine.Plan) ([]engine.GateAnswer, error) {
	var out []engine.GateAnswer
	for _, name := range g.PreApprove {
		addr := name
		if !strings.Contains(addr, ".") {
			addr = "stage." + addr
		}
		pg := plan.Gate(addr)
		switch {
		case pg == nil || (pg.Approval == nil && !pg.ApprovalUnknown):
			return nil, fmt.Errorf("-approve %s: %s has no approval gate in this plan (%s)", name, addr, approvalGates(plan))
		case pg.Approval != nil && !pg.Approval.AllowSelfApproval:
			return nil, fmt.Errorf("-approve %s: %s needs the approval of someone other than who starts the run (allow_self_approval = false); "+
				"-approve is yours. Have an approver run `pipectl approve` while the run waits", name, addr)
		case pg.Approval != nil && !(gate.Rule{Approvers: pg.Approval.Approvers}).IsApprover(g.User, g.Groups):
			return nil, fmt.Errorf("-approve %s: %s is not one of the approvers of %s (%s)", name, g.User, addr, strings.Join(pg.Approval.Approvers, ", "))
		}
		out = append(out, engine.GateAnswer{Gate: addr, Approve: true, User: g.User, Groups: g.Groups, Reason: "approved ahead with apply -approve"})
	}
	return out, nil
}

func approvalGates(plan *engine.Plan) string {
	var names []string
	for _, g := range plan.Gates {
		if g.Approval != nil || g.ApprovalUnknown {
			names = append(names, g.Gate)
		}
	}
	if len(names) == 0 {
		return "it has none"
	}
	return "its approval gates: " + strings.Join(names, ", ")
}

// starter is who four eyes refuses as an approver: who starts the run
// or, when it resumes one, who started that one (its record carries the
// first run's starter on, resume after resume). Whoever resumes a run
// only continues it: they may approve it.
func (g *Gates) starter(res *resumption) (user, actor string) {
	if res != nil && res.startedBy != "" {
		return res.startedBy, res.actor
	}
	return g.User, g.Actor
}

// startGates records who started the run (and who resumes it) and the
// approvals given ahead.
func (g *Gates) startGates(recorder *record.Recorder, approvals []engine.GateAnswer, res *resumption) error {
	user, actor := g.starter(res)
	recorder.SetStartedBy(user, actor)
	if res != nil {
		recorder.SetResumedBy(g.User)
	}
	for _, a := range approvals {
		if err := recorder.PutAnswer(a); err != nil {
			return fmt.Errorf("cannot record -approve %s: %w", a.Gate, err)
		}
	}
	return nil
}

// options are the engine's gate options for a recorded run.
func (g *Gates) options(recorder *record.Recorder, res *resumption) engine.GateOptions {
	user, actor := g.starter(res)
	return engine.GateOptions{Answers: recorder, User: g.User, StartedBy: user, StartedByActor: actor, OverrideWindow: g.OverrideWindow}
}
