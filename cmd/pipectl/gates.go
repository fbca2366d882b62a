package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newApproveCommand() *cobra.Command {
	var op operation.Approve
	var yes bool
	cmd := &cobra.Command{
		Use:   "approve RUN [DIR]",
		Short: "Approve a run waiting at an approval gate",
		Long: `Approves the gate a running apply waits at (pipectl runs shows who waits
where). -stage names the gate (a stage, or step.NAME for a step's approval)
when the run waits at several. The approval is recorded with who gave it
(PIPECTL_USER, or the OS user), when, and -reason. A gate may refuse it: not
one of its approvers, or the user who started the run when it forbids
self-approval (allow_self_approval = false). It prints the plan the run applies
(as pipectl plan printed it) and asks to confirm; -yes approves without asking,
and is needed where there is no terminal to ask at (CI).`,
		Args: runArgs(2, aWaitingRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			op.ID, op.Dir, op.Backend = args[0], pathArg(args[1:]), backend
			op.Review = func(plan *v1.Plan, runID, waitingAt string) error {
				return reviewApproval(cmd, plan, runID, waitingAt, yes)
			}
			return answered(cmd, "Approved")(op.Run())
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "approve without asking to confirm (after reviewing the plan: pipectl runs show RUN -plan)")
	cmd.Flags().StringVar(&op.Gate, "stage", "", "the gate: a stage name, or step.NAME (needed when the run waits at several)")
	cmd.Flags().StringVar(&op.Reason, "reason", "", "why, recorded with the approval")
	return cmd
}

// reviewApproval prints the plan a run applies, the plan being approved,
// and asks to approve it, unless yes. Without a terminal to ask at it
// refuses: an approval nobody saw is not one, so CI says -yes.
func reviewApproval(cmd *cobra.Command, plan *v1.Plan, runID, waitingAt string, yes bool) error {
	if !yes && !stdinTerminal(cmd) {
		return fmt.Errorf("pipectl approve asks you to confirm the plan it approves, and there is no terminal to ask at (stdin is not one). "+
			"Review the plan (pipectl runs show %s -plan), then approve it with -yes: pipectl approve %s -yes", runID, runID)
	}
	planView(cmd, false).Show(plan)
	if yes {
		return nil
	}
	notices(cmd).AskApproval(waitingAt, runID)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.ToLower(strings.TrimSpace(line)) != "yes" {
		return operation.ErrNotApproved
	}
	return nil
}

func newRejectCommand() *cobra.Command {
	var op operation.Reject
	cmd := &cobra.Command{
		Use:   "reject RUN [DIR] -reason TEXT",
		Short: "Reject a run waiting at an approval gate: the run fails",
		Long: `Rejects the gate a running apply waits at: the stage does not start, the run
fails (its on_failure handlers run) and apply exits with status 6. Who
rejected (PIPECTL_USER, or the OS user), when and -reason are recorded.`,
		Args: runArgs(2, aWaitingRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			op.ID, op.Dir, op.Backend = args[0], pathArg(args[1:]), backend
			return answered(cmd, "Rejected")(op.Run())
		},
	}
	cmd.Flags().StringVar(&op.Gate, "stage", "", "the gate: a stage name, or step.NAME (needed when the run waits at several)")
	cmd.Flags().StringVar(&op.Reason, "reason", "", "why (required)")
	return cmd
}

// answered says which answer was recorded, as whom.
func answered(cmd *cobra.Command, verb string) func(*operation.Answered, error) error {
	return func(a *operation.Answered, err error) error {
		if err != nil {
			return err
		}
		notices(cmd).Answered(verb, a.Gate, a.Run, a.User)
		return nil
	}
}

// planView prints a recorded plan as `pipectl plan` printed it.
func planView(cmd *cobra.Command, asJSON bool) view.PlanView {
	return view.NewPlan(commandBase(cmd, asJSON, false, nil, nil))
}

// gateFlags are apply's -approve and -override-window.
type gateFlags struct {
	approve        []string // gates approved ahead (stage names or step.NAME)
	overrideWindow string
}

func (g *gateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&g.approve, "approve", nil,
		"approve this stage's gate ahead (repeatable; step.NAME for a step's), for automation: the approval is recorded as yours")
	cmd.Flags().StringVar(&g.overrideWindow, "override-window", "",
		"start gated stages outside their deploy windows and freezes; the reason is recorded (emergency fixes)")
}

// options are the operation's gate options: who applies, -approve,
// -override-window, and the terminal's questions when someone is there.
func (g *gateFlags) options(cmd *cobra.Command, asJSON bool, notice func(string)) (operation.Gates, error) {
	who, err := operation.Who()
	if err != nil {
		return operation.Gates{}, err
	}
	out := operation.Gates{User: who, PreApprove: g.approve, OverrideWindow: g.overrideWindow}
	if stdinTerminal(cmd) && !asJSON {
		out.Prompt = &operation.Prompt{In: cmd.InOrStdin(), Notice: notice}
	}
	return out, nil
}

// stdinTerminal reports whether someone can answer at the terminal.
func stdinTerminal(cmd *cobra.Command) bool {
	f, ok := cmd.InOrStdin().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// aWaitingRun is where RUN comes from for approve and reject.
const aWaitingRun = "the id of the run that waits, from `pipectl runs` (waiting for approval at ...)"
