package operation

import (
	"errors"

	"github.com/pipectl/pipectl/engine"
)

// How a run ended, when not well: one sentinel each, so that the command
// can give each its own exit status (cmd/pipectl/exit.go, docs/cli.md).
// The view has already said what happened; these say only which case.
var (
	// ErrOutputsFailed: every step succeeded (and was recorded so), but an
	// output block could not be evaluated.
	ErrOutputsFailed = errors.New("the pipeline's outputs could not be evaluated")
	// ErrRunFailed: the run failed and left its target changed; also a
	// run stopped because its record could not be written.
	ErrRunFailed = errors.New("the run failed and left its target changed")
	// ErrRestored: the run failed, and its failure handlers restored every
	// target it changed.
	ErrRestored = errors.New("the run failed; its failure handlers restored what it changed")
	// ErrGateStopped: a gate stopped the run (rejected, timed out, outside
	// its window, stale).
	ErrGateStopped = errors.New("a gate stopped the run")
	// ErrUnchanged: the run failed before any step that changes the
	// target ran: nothing was deployed.
	ErrUnchanged = errors.New("the run failed before anything was deployed")
	// ErrParked: the run stopped at a gate that waits for approval (apply
	// -park), keeping its environment's lock: apply -resume continues it.
	ErrParked = errors.New("the run is parked at a gate, waiting for approval")
	// ErrParkedUnlocked: the run parked, but its environment's lock could
	// not be kept for it (Applied.ParkFailed says why): not the parked
	// status a CI job branches on, since nothing holds the environment.
	ErrParkedUnlocked = errors.New("the run parked, but its environment's lock could not be kept for it")
)

// Err is how the run ended: nil when it succeeded, else one of the
// sentinels above, or ErrCancelled.
func (a *Applied) Err() error {
	res := a.Result
	switch {
	case a.Incomplete != nil:
		return ErrRunFailed // its record cannot say what it did
	case res.Status == engine.StatusSucceeded && res.OutputDiagnostics.HasErrors():
		return ErrOutputsFailed
	case res.Status == engine.StatusSucceeded:
		return nil
	case res.Status == engine.StatusParked && a.ParkFailed != nil:
		return ErrParkedUnlocked
	case res.Status == engine.StatusParked:
		return ErrParked
	case res.Status == engine.StatusCancelled && a.RecordFailed:
		return ErrRunFailed // stopped because the record failed, not by a person
	case res.Status == engine.StatusCancelled:
		return ErrCancelled
	case res.GateFailure != nil:
		return ErrGateStopped
	case res.Outcome == engine.OutcomeUnchanged:
		return ErrUnchanged
	case res.Outcome == engine.OutcomeRestored:
		return ErrRestored
	}
	return ErrRunFailed
}

// Cancelling is the event the view is told at the first interrupt, before
// the engine says which steps it cancels.
func Cancelling() engine.Event {
	return engine.Event{Type: engine.RunCancelling, Message: "Interrupt received: cancelling the running steps…"}
}
