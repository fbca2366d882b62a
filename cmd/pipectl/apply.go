package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/internal/view"
	"github.com/pipectl/pipectl/operation"
)

func newApplyCommand() *cobra.Command {
	var f pipelineFlags
	var o applyOptions
	var sub subsetFlags
	cmd := &cobra.Command{
		Use:   "apply [PLAN [DIR] | DIR | FILE]",
		Short: "Run the pipeline: a saved plan, or plan and confirm",
		Long: `Runs a pipeline. Given a plan saved by ` + "`pipectl plan -out PLAN`" + `, it applies
it against the pipeline in DIR (default: the current directory) — any checkout
of it, at any path, on any machine. It first plans again and refuses the saved
plan if a file it was planned from differs (named: changed, missing or added),
a variable differs, or what any action observes changed since (a stale plan);
sensitive variables are never saved in a plan, so give them again (-var,
-var-file, PIPECTL_VAR_*). Otherwise it plans, shows the plan and asks for
confirmation (-auto-approve skips the question). It runs in the pipeline's
directory, wherever it is started from.

Steps start as soon as everything they depend on has succeeded, up to
-parallelism at once. When a step fails nothing new starts; the failed stages'
on_failure steps run, then the pipeline's on_failure, then finally. Ctrl-C
cancels the running steps and runs the failure handlers; a second Ctrl-C stops
at once.

A stage with an approval gate waits before its first step: on a terminal apply
asks; anyone may answer with pipectl approve or reject RUN; -approve STAGE
approves ahead, for automation. A stage with deploy windows waits for the next
one (or fails); -override-window "reason" lets it through, recorded.

-park stops the run where an approval gate starts waiting, with exit status 8:
the run is recorded as parked and keeps the environment's lock (the lock names
the run, no process); once approved, pipectl apply -resume RUN continues it on
any runner, taking the lock over (or waits there for the answer).

One apply at a time per environment: -lock-timeout waits for another one to
finish (default: do not wait); a lock left by a killed apply is stale and
refused until pipectl force-unlock RUN. -target step.X or stage.X (repeatable)
runs those and what they depend on; -only stage.X runs that stage alone, with
the outputs of the steps before it from the last successful run.

Exit status: 0 succeeded; 1 an error before anything ran; 3 every step
succeeded but the pipeline's outputs could not be evaluated; 4 the run failed
and left a change no failure handler restored; 5 the run failed and failure
handlers changing the same targets restored every change; 6 a gate stopped the
run (approval rejected or timed out, outside the deploy window); 7 the run
failed before any step that changes the target ran (nothing deployed);
8 parked at a gate (-park); 130 cancelled. docs/cli.md has the table.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.subset = sub.subset()
			return runApply(cmd, &f, args, o)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&o.autoApprove, "auto-approve", false, "do not ask for confirmation")
	cmd.Flags().IntVar(&o.parallelism, "parallelism", 10, "how many steps may run at once")
	cmd.Flags().StringVar(&o.resume, "resume", "", "resume a failed, cancelled, interrupted or parked run (its id, from pipectl runs, or latest)")
	cmd.Flags().BoolVar(&o.reapply, "allow-reapply", false, "apply a saved plan that was applied before")
	cmd.Flags().BoolVar(&o.park, "park", false, "stop at an approval gate that waits (exit status 8), keeping the environment locked for the run: apply -resume RUN continues it once approved")
	cmd.Flags().DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for another apply of the environment to finish (0: do not wait)")
	sub.register(cmd)
	cmd.Flags().StringVar(&o.report, "report", "", "when the run ends, write its HTML report to this file (as pipectl runs report)")
	o.gates.register(cmd)
	return cmd
}

// applyOptions are apply's own flags.
type applyOptions struct {
	autoApprove bool
	parallelism int
	resume      string // a run id
	reapply     bool   // a saved plan a second time
	park        bool   // stop at a waiting approval gate
	lockTimeout time.Duration
	subset      operation.Subset // -target, -only
	report      string           // the HTML report's file
	gates       gateFlags
}

// runApply sets up the apply operation with the flags and the views; the
// operation locks, plans (or checks a saved plan), records and runs.
func runApply(cmd *cobra.Command, f *pipelineFlags, args []string, o applyOptions) error {
	in, err := f.inputs()
	if err != nil {
		return err
	}
	planFile, path := "", pathArg(args)
	switch {
	case len(args) > 0 && operation.IsPlanFile(args[0]):
		planFile, path = args[0], pathArg(args[1:])
	case len(args) > 1:
		return fmt.Errorf("%s is not a saved plan: apply takes a second argument only after one (pipectl apply PLAN DIR)", args[0])
	}
	if path, err = operation.EnterPipeline(path, operation.NamedFiles(&in, &o.report, &planFile)...); err != nil {
		return err
	}
	out, errOut, outputGone := watchOutput(cmd.OutOrStdout(), cmd.ErrOrStderr())
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cfg := newConfiguration()
	var files map[string]*hcl.File
	base := f.base(cmd, cfg, func() map[string]*hcl.File { return files })
	var v view.ApplyView
	a := operation.NewApply(cfg)
	if planFile != "" {
		a.Dir, path = path, planFile
	}
	a.Inputs, a.Parallelism, a.AutoApprove, a.Resume, a.AllowReapply = in, o.parallelism, o.autoApprove, o.resume, o.reapply
	a.LockTimeout, a.OnLockWait = o.lockTimeout, lockWaitMessage(cmd, o.lockTimeout)
	a.Subset, a.Report, a.Backend, a.Park = o.subset, o.report, backend, o.park
	notice := func(text string) {
		if v != nil {
			v.Notice(text)
		}
	}
	if a.Gates, err = o.gates.options(cmd, f.json, notice); err != nil {
		return err
	}
	if o.park {
		a.Gates.Prompt = nil // a parked run asks nobody: approvers answer it
	}
	a.Diagnostics = func(loaded map[string]*hcl.File, diags hcl.Diagnostics) { files = loaded; base.Diagnostics(diags) }
	if !f.json {
		a.Confirm = func(plan *v1.Plan) bool {
			view.NewPlan(base).Show(plan)
			return confirm(cmd)
		}
	}
	a.Start = func(plan *v1.Plan) v1.EventSink {
		v = view.NewApply(base, isTerminal(cmd) && !f.noColor, plan) // -no-color: plain lines, as in CI
		return v
	}
	a.Interruptible = func(ctx context.Context) (context.Context, context.Context, func()) {
		return interruptible(ctx, outputGone, func() { v.Event(operation.Cancelling()) })
	}
	a.RecordError = notices(cmd).RecordFailed
	applied, err := a.Run(cmd.Context(), path)
	switch {
	case errors.Is(err, operation.ErrNoConfirmation):
		return fmt.Errorf("-json needs -auto-approve (or a saved plan): there is no one to answer the confirmation")
	case errors.Is(err, operation.ErrNotConfirmed):
		notices(cmd).ApplyCancelled()
		return err
	case err != nil:
		return err
	}
	return applyResult(cmd, v, applied)
}

// applyResult shows how the run ended; its error is the exit status.
func applyResult(cmd *cobra.Command, v view.ApplyView, applied *operation.Applied) error {
	if applied.Incomplete != nil {
		v.Result(applied.Result, "")
		notices(cmd).RecordIncomplete(applied.RunID, applied.Incomplete, applied.OutcomesKept)
		return applied.Err()
	}
	v.Result(applied.Result, applied.RunID)
	if applied.ParkFailed != nil {
		notices(cmd).Error(applied.ParkFailed)
	}
	if applied.ReportError != nil { // the exit status stays the run's: the report is not the run
		notices(cmd).ReportNotWritten(applied.ReportError)
	}
	return applied.Err()
}

func confirm(cmd *cobra.Command) bool {
	notices(cmd).AskApply()
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}
