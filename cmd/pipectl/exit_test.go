package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/pipectl/pipectl/operation"
)

// Each way a command ends has the status docs/cli.md gives it, wrapped or
// not; what no view told yet is told.
func TestExitStatusOfEverySentinel(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		tell bool
	}{
		{nil, 0, false},
		{operation.ErrDiagnostics, 1, false},
		{operation.ErrNotConfirmed, 1, false},
		{operation.ErrNotUnlocked, 1, false},
		{operation.ErrNotApproved, 1, true},
		{operation.ErrNoIdentity, 1, true},
		{errors.New("locked"), 1, true},
		{exitError(2), 2, false},
		{operation.ErrOutputsFailed, 3, false},
		{operation.ErrRunFailed, 4, false},
		{operation.ErrRestored, 5, false},
		{operation.ErrGateStopped, 6, false},
		{fmt.Errorf("run x: %w", operation.ErrUnchanged), 7, false},
		{operation.ErrParked, 8, false},
		{operation.ErrParkedUnlocked, 4, false}, // apply told it: parked, but nothing holds the environment
		{operation.ErrCancelled, 130, false},
	} {
		if code, tell := exitStatus(c.err); code != c.code || tell != c.tell {
			t.Errorf("%v: status %d (told %v), want %d (told %v)", c.err, code, tell, c.code, c.tell)
		}
	}
}

// Every status exit.go gives is in the table of docs/cli.md.
func TestExitStatusesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []int{exitNotStarted, exitChanges, exitOutputs, exitUnformatted, exitRunFailed, exitRestored,
		exitGateStopped, exitUnchanged, exitParked, exitCancelled} {
		if !regexp.MustCompile(fmt.Sprintf("(?m)^\\| `%d` \\|", code)).Match(doc) {
			t.Errorf("exit status %d is not in docs/cli.md's table of exit statuses", code)
		}
	}
}
