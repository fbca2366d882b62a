package v1

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Result is the outcome of a run.
type Result struct {
	Status Status
	Steps  map[string]Status // by step name
	// Instances is the outcome of every step instance (for_each key), as
	// run records count them; a step that never started counts once.
	Instances map[string]Status
	Outputs   map[string]cty.Value // the pipeline's outputs, when the run succeeded
	// OutputDiagnostics: the steps succeeded but the outputs could not be
	// evaluated. It does not change Status: what ran, ran.
	OutputDiagnostics hcl.Diagnostics
	// GateFailure: a gate stopped the run (rejected, timed out, outside
	// its window); nil otherwise.
	GateFailure *GateFailure
	// HandlersRan: the run failed and failure handlers (on_failure) ran;
	// HandlersFailed: one of them failed too.
	HandlersRan, HandlersFailed bool
	// Scheduled counts the graph nodes the scheduler looked at to decide
	// what may start: it grows with the steps and their dependencies, not
	// faster.
	Scheduled int
	// Outcome is what a run that did not succeed left its target as; ""
	// when it succeeded.
	Outcome Outcome
	// Parked are the gates a run of apply -park stopped at, waiting for
	// approval (Status StatusParked).
	Parked []ParkedGate
}

// ParkedGate is a gate a parked run waits at, and its deadline (zero:
// the gate has no timeout).
type ParkedGate struct {
	Gate  string
	Until time.Time
}

// GateFailure is why a gate stopped the run.
type GateFailure struct {
	Gate string `json:"gate"`
	// Reason is rejected, timed_out, window_closed or stale (abandoned:
	// the run stopped for another failure while it waited).
	Reason  GateStatus `json:"reason"`
	Message string     `json:"message"`
}
