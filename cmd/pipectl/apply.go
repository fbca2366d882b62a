package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/engine/runs"
	"github.com/pipectl/pipectl/internal/view"
)

func newApplyCommand() *cobra.Command {
	var f pipelineFlags
	var o applyOptions
	cmd := &cobra.Command{
		Use:   "apply [PLAN|DIR|FILE]",
		Short: "Run the pipeline: a saved plan, or plan and confirm",
		Long: `Runs a pipeline. Given a plan saved by ` + "`pipectl plan -out PLAN`" + `, it first
plans again and refuses the saved plan if the pipeline's files, its variables or
what any action observes changed since (a stale plan); sensitive variables are
never saved in a plan, so give them again (-var, -var-file, PIPECTL_VAR_*).
Otherwise it plans, shows the plan and asks for confirmation (-auto-approve
skips the question).

Steps start as soon as everything they depend on has succeeded, up to
-parallelism at once. When a step fails nothing new starts; the failed stages'
on_failure steps run, then the pipeline's on_failure, then finally. Ctrl-C
cancels the running steps and runs the failure handlers; a second Ctrl-C stops
at once. Exit status: 0 succeeded, 1 failed, 3 every step succeeded but the
pipeline's outputs could not be evaluated, 130 cancelled.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, &f, pathArg(args), o)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&o.autoApprove, "auto-approve", false, "do not ask for confirmation")
	cmd.Flags().IntVar(&o.parallelism, "parallelism", 10, "how many steps may run at once")
	cmd.Flags().StringVar(&o.resume, "resume", "", "resume a failed, cancelled or interrupted run (its id, from pipectl runs)")
	return cmd
}

// applyOptions are apply's own flags.
type applyOptions struct {
	autoApprove bool
	parallelism int
	resume      string // a run id
}

func runApply(cmd *cobra.Command, f *pipelineFlags, path string, o applyOptions) error {
	if o.parallelism < 1 {
		return fmt.Errorf("-parallelism must be at least 1, not %d", o.parallelism)
	}
	var store *runs.Store // held for the whole run: it keeps a second run of this pipeline out
	var res *resumption
	if o.resume != "" {
		var err error
		if store, err = runs.Open(pathDir(path)); err != nil {
			return err
		}
		defer store.Close()
		if res, err = loadResumption(store, o.resume); err != nil {
			return err
		}
	}
	s, plan, err := planForApply(cmd, f, path, o.autoApprove, res)
	if err != nil {
		return err
	}
	defer s.close()
	if store == nil {
		if store, err = runs.Open(s.pipeline.Config.Dir); err != nil {
			return err
		}
		defer store.Close()
	}
	recorder, err := store.Start(plan, s.redactor)
	if err != nil {
		return fmt.Errorf("recording the run: %w", err)
	}
	v := view.NewApply(s.base, isTerminal(cmd) && !f.noColor, plan) // -no-color: plain lines, as in CI
	ctx, kill, stop := interruptible(cmd.Context(), func() {
		v.Event(engine.Event{Type: engine.RunCancelling, Message: "Interrupt received: cancelling the running steps…"})
	})
	defer stop()
	runner := &engine.Runner{Pipeline: s.pipeline, Host: s.host, Redactor: s.redactor, Parallelism: o.parallelism, Plan: plan,
		Events:      engine.EventFunc(func(e engine.Event) { v.Event(e); recorder.Event(e) }),
		OnStepValue: recorder.StepValue}
	if res != nil {
		runner.Done, runner.Resumed = res.done(s.pipeline), res.id
		recorder.ResumeOf(res.id)
	}
	result := runner.Apply(ctx, kill)
	runID := recorder.ID()
	if err := recorder.Finish(); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "Warning: the run record %s is incomplete: %v\n", recorder.ID(), err)
		runID = ""
	}
	v.Result(result, runID)
	switch result.Status {
	case engine.StatusSucceeded:
		if result.OutputDiagnostics.HasErrors() {
			return exitError(exitOutputsFailed)
		}
		return nil
	case engine.StatusCancelled:
		return exitError(130)
	}
	return exitError(1)
}

// planForApply returns the plan to apply: a saved one, checked against the
// world, or a fresh one the user confirmed.
func planForApply(cmd *cobra.Command, f *pipelineFlags, path string, autoApprove bool, res *resumption) (*session, *engine.Plan, error) {
	if res != nil {
		return checkedPlan(cmd, f, res.plan, (*engine.Planner).CheckResume)
	}
	if isPlanFile(path) {
		saved, err := engine.ReadPlan(path)
		if err != nil {
			return nil, nil, err
		}
		return checkedPlan(cmd, f, saved, (*engine.Planner).CheckSaved)
	}
	if f.json && !autoApprove {
		return nil, nil, fmt.Errorf("-json needs -auto-approve (or a saved plan): there is no one to answer the confirmation")
	}
	s, err := openSession(cmd, f, path)
	if err != nil {
		return nil, nil, err
	}
	pv := &view.Plan{Base: s.base}
	plan, diags := s.planner.Plan(cmd.Context())
	pv.Diagnostics(diags)
	if diags.HasErrors() {
		s.close()
		return nil, nil, exitError(1)
	}
	if !autoApprove {
		pv.Show(plan)
		if !confirm(cmd) {
			s.close()
			fmt.Fprintln(cmd.OutOrStdout(), "Apply cancelled: nothing was done.")
			return nil, nil, exitError(1)
		}
	}
	return s, plan, nil
}

// checkedPlan opens the pipeline a plan was made from, with the plan's
// choices, and checks the plan still holds.
func checkedPlan(cmd *cobra.Command, f *pipelineFlags, saved *engine.Plan,
	check func(*engine.Planner, context.Context, *engine.Plan) (*engine.Plan, hcl.Diagnostics)) (*session, *engine.Plan, error) {
	given, err := f.inputs()
	if err != nil {
		return nil, nil, err
	}
	s, err := openSessionWith(cmd, f, saved.Dir, saved.Inputs(given))
	if err != nil {
		return nil, nil, err
	}
	plan, diags := check(s.planner, cmd.Context(), saved)
	s.base.Diagnostics(diags)
	if diags.HasErrors() {
		s.close()
		return nil, nil, exitError(1)
	}
	return s, plan, nil
}

// isPlanFile tells a saved plan from a pipeline file or directory.
func isPlanFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && !strings.HasSuffix(path, ".hcl")
}

func confirm(cmd *cobra.Command) bool {
	fmt.Fprint(cmd.OutOrStdout(), "\nDo you want to run this plan? Only 'yes' will be accepted: ")
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

// exitOutputsFailed: the steps succeeded (and were recorded so) but an
// output block could not be evaluated; scripts can tell it from a failure.
const exitOutputsFailed = 3
