// Package gate is what holds a stage (or a step) back before it starts:
// an approval, deploy windows and freeze periods, as plain values. It
// decides, given a time or the answers so far, whether a gate is open and
// whether an answer counts; it reads no configuration (dsl evaluates the
// blocks into its types) and waits for nothing (the engine's loop does,
// on a Clock). Its kinds and outcomes are the vocabulary's (api/v1).
package gate

import (
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// Kind is what a gate waits for; Status what happened at it, as a run's
// record says (and, for a gate that stopped the run, why: GateFailure).
type (
	Kind   = v1.GateKind
	Status = v1.GateStatus
)

const (
	KindApproval = v1.GateApproval
	KindWindow   = v1.GateWindow
)

// OutsideWindow is what a gated stage does when it is reached outside its
// windows (or in a freeze).
type OutsideWindow string

const (
	Wait OutsideWindow = "wait" // wait for the next window (the default)
	Fail OutsideWindow = "fail" // fail the run
)

// Gate is one stage's or step's gate, evaluated for one run.
type Gate struct {
	Address  string    // stage.NAME or step.NAME
	Approval *Approval // nil: no approval needed (none, or its when is false)
	// ApprovalUnknown: whether approval is needed is not known yet (its
	// when reads a variable not given, as validate evaluates it).
	ApprovalUnknown bool
	Windows         []*Window
	Freezes         []*Freeze
	OutsideWindow   OutsideWindow
}

// HasWindows reports whether the gate restricts when the stage starts.
func (g *Gate) HasWindows() bool { return g != nil && (len(g.Windows) > 0 || len(g.Freezes) > 0) }

// Empty reports whether the gate holds nothing back.
func (g *Gate) Empty() bool {
	return g == nil || (g.Approval == nil && !g.ApprovalUnknown && !g.HasWindows())
}

// Asks is the approval the gate waits for, or nil. An approval whose
// condition is unknown asks (the safe side), anyone once.
func (g *Gate) Asks() *Approval {
	switch {
	case g.Approval != nil:
		return g.Approval
	case g.ApprovalUnknown:
		return &Approval{Message: "Approve " + g.Address + "?", Rule: Rule{MinApprovals: 1, AllowSelfApproval: true}}
	}
	return nil
}

// Clock is where a waiting gate reads the time; tests give a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the machine's clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
