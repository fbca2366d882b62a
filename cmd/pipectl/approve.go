package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/record"
)

// confirmApproval prints the plan a run applies, the plan being approved,
// and asks to approve it, unless yes. Without a terminal to ask at it
// refuses: an approval nobody saw is not one, so CI says -yes.
func confirmApproval(cmd *cobra.Command, args []string, gate string, yes bool) error {
	store, err := openRecord(pathArg(args[1:]))
	if err != nil {
		return err
	}
	run, planJSON, err := store.Show(args[0], nil)
	if err != nil {
		return err
	}
	if run.Status != record.StatusRunning || len(run.Waiting()) == 0 {
		return nil // nothing to approve: answerGate says why
	}
	plan, err := record.DecodePlan(args[0], planJSON)
	if err != nil {
		return err
	}
	if !yes && !stdinTerminal(cmd) {
		return fmt.Errorf("pipectl approve asks you to confirm the plan it approves, and there is no terminal to ask at (stdin is not one). "+
			"Review the plan (pipectl runs show %s -plan), then approve it with -yes: pipectl approve %s -yes", args[0], args[0])
	}
	planView(cmd, false).Show(plan)
	if yes {
		return nil
	}
	where := waitingAt(run, gate)
	fmt.Fprintf(cmd.OutOrStdout(), "\nApprove %s of run %s, to run this plan? Type yes to approve: ", where, run.ID)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.ToLower(strings.TrimSpace(line)) != "yes" {
		return errors.New("not approved: nothing was recorded")
	}
	return nil
}

// waitingAt names the gate being approved, for the question.
func waitingAt(run *record.Run, gate string) string {
	if gate != "" {
		return gate
	}
	var at []string
	for _, g := range run.Waiting() {
		at = append(at, g.Gate)
	}
	if len(at) == 0 {
		return "its gate"
	}
	return strings.Join(at, " and ")
}

// planView prints a recorded plan as `pipectl plan` printed it.
func planView(cmd *cobra.Command, asJSON bool) *view.Plan {
	return &view.Plan{Base: commandBase(cmd, asJSON, false, nil, nil)}
}
