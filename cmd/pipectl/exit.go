package main

import (
	"errors"
	"fmt"

	"github.com/pipectl/pipectl/operation"
)

// Exit statuses, distinct so that CI can branch on what happened; the
// table "Exit statuses" of docs/cli.md lists them. A number, once given,
// keeps its meaning.
const (
	exitNotStarted  = 1   // an error before anything ran: nothing changed
	exitChanges     = 2   // plan -detailed-exitcode: a main step would change something
	exitOutputs     = 3   // apply: the steps succeeded, an output could not be evaluated
	exitUnformatted = 3   // fmt -check: a file is not formatted
	exitRunFailed   = 4   // apply: the run failed and left its target changed
	exitRestored    = 5   // apply: the run failed, its failure handlers restored every target it changed
	exitGateStopped = 6   // apply: a gate stopped the run
	exitUnchanged   = 7   // apply: the run failed before any step that changes the target ran
	exitParked      = 8   // apply -park: the run waits at a gate, parked, for a runner to resume it
	exitCancelled   = 130 // Ctrl-C or SIGTERM
)

// silent are the operations' sentinel errors whose story the view has
// told already (diagnostics, a run's end, "Not unlocked."), with their
// exit status: nothing more is printed.
var silent = []struct {
	err  error
	code int
}{
	{operation.ErrDiagnostics, exitNotStarted},
	{operation.ErrNotConfirmed, exitNotStarted},
	{operation.ErrNotUnlocked, exitNotStarted},
	{operation.ErrOutputsFailed, exitOutputs},
	{operation.ErrRunFailed, exitRunFailed},
	{operation.ErrRestored, exitRestored},
	{operation.ErrGateStopped, exitGateStopped},
	{operation.ErrUnchanged, exitUnchanged},
	{operation.ErrParked, exitParked},
	{operation.ErrParkedUnlocked, exitRunFailed},
	{operation.ErrCancelled, exitCancelled},
}

// Every other error (operation.ErrNotApproved, ErrNoIdentity, a refused
// answer, a locked environment...) is printed as "Error: ..." with status
// 1: nothing was changed.

// exitStatus is the exit status of a command's error, and whether the
// error is still to be told.
func exitStatus(err error) (code int, tell bool) {
	var e exitError
	switch {
	case err == nil:
		return 0, false
	case errors.As(err, &e):
		return int(e), false
	}
	for _, s := range silent {
		if errors.Is(err, s.err) {
			return s.code, false
		}
	}
	return exitNotStarted, true
}

// exit reports err, if it is still to be told, and returns its status.
func exit(err error) int {
	code, tell := exitStatus(err)
	if tell {
		processNotices().Error(err)
	}
	return code
}

// exitError carries an exit status out of a command that already
// reported what went wrong, for the statuses no operation's sentinel
// stands for (plan -detailed-exitcode, fmt -check, init's unlocked
// plugins).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
