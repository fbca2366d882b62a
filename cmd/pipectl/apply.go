package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

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
	cmd.Flags().BoolVar(&o.reapply, "allow-reapply", false, "apply a saved plan that was applied before")
	cmd.Flags().StringVar(&o.report, "report", "", "when the run ends, write its HTML report to this file (as pipectl runs report)")
	return cmd
}

// applyOptions are apply's own flags.
type applyOptions struct {
	autoApprove bool
	parallelism int
	resume      string // a run id
	reapply     bool   // a saved plan a second time
	report      string // the HTML report's file
}

func runApply(cmd *cobra.Command, f *pipelineFlags, path string, o applyOptions) error {
	if o.parallelism < 1 {
		return fmt.Errorf("-parallelism must be at least 1, not %d", o.parallelism)
	}
	out, errOut, outputGone := watchOutput(cmd.OutOrStdout(), cmd.ErrOrStderr())
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	// What is applied, where, is known before planning: a saved plan
	// names its directory and environment, a run being resumed too.
	target, err := applyTarget(f, path, o.resume)
	if err != nil {
		return err
	}
	lock, err := runs.LockEnvironment(target.dir, target.env)
	if err != nil {
		return err
	}
	defer lock.Release()
	store, err := runs.Open(target.dir) // a damaged database stops us here, before anything runs
	if err != nil {
		return err
	}
	if o.resume != "" {
		if target.resume, err = loadResumption(store, o.resume); err != nil {
			return err
		}
	}
	if target.saved != nil && !o.reapply {
		if err := appliedBefore(store, path, target.saved); err != nil {
			return err
		}
	}
	s, plan, err := planForApply(cmd, f, path, o.autoApprove, target)
	if err != nil {
		return err
	}
	defer s.close()
	recorder, err := store.Start(plan, s.redactor)
	if err != nil {
		return fmt.Errorf("cannot record the run in %s, so it does not start: %w", store.Path(), err)
	}
	_ = lock.SetRun(recorder.ID())
	if target.saved != nil {
		recorder.FromSavedPlan(target.saved.ContentHash)
	}
	v := view.NewApply(s.base, isTerminal(cmd) && !f.noColor, plan) // -no-color: plain lines, as in CI
	recordFailed, once := make(chan struct{}), sync.Once{}
	recorder.OnWriteError(func(err error) {
		defer once.Do(func() { close(recordFailed) })
		fmt.Fprintf(cmd.ErrOrStderr(), "Error: cannot record the run in %s: %v\n"+
			"Stopping: no new step starts (failure handlers and finally still run). This run cannot be resumed.\n", store.Path(), err)
	})
	ctx, kill, stop := interruptible(cmd.Context(), outputGone, recordFailed, func() {
		v.Event(engine.Event{Type: engine.RunCancelling, Message: "Interrupt received: cancelling the running steps…"})
	})
	defer stop()
	runner := &engine.Runner{Pipeline: s.pipeline, Host: s.host, Redactor: s.redactor, Parallelism: o.parallelism, Plan: plan,
		Events:      engine.EventFunc(func(e engine.Event) { v.Event(e); recorder.Event(e) }),
		OnStepValue: recorder.StepValue}
	if res := target.resume; res != nil {
		runner.Done, runner.Resumed = res.done(s.pipeline), res.id
		recorder.ResumeOf(res.id)
	}
	result := runner.Apply(ctx, kill)
	runID := recorder.ID()
	if err := recorder.Finish(); err != nil {
		v.Result(result, "")
		fmt.Fprintf(cmd.ErrOrStderr(), "Error: the record of run %s is incomplete: %v\n"+
			"It is marked so: it cannot be resumed. Check what the run did before applying again.\n", runID, err)
		return exitError(1)
	}
	v.Result(result, runID)
	if o.report != "" {
		if err := writeReport(store, runID, o.report); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "Error: %v\n", err)
			return exitError(1)
		}
	}
	switch result.Status {
	case engine.StatusSucceeded:
		if result.OutputDiagnostics.HasErrors() {
			return exitError(exitOutputsFailed)
		}
		return nil
	case engine.StatusCancelled:
		if isClosed(recordFailed) {
			return exitError(1)
		}
		return exitError(130)
	}
	return exitError(1)
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// target is what an apply works on: the pipeline directory and the
// environment (to lock them before planning), and, for -resume, the run.
type target struct {
	dir, env string
	saved    *engine.Plan // a saved plan being applied
	resume   *resumption
}

func applyTarget(f *pipelineFlags, path, resume string) (*target, error) {
	switch {
	case resume != "":
		store, err := runs.OpenExisting(pathDir(path))
		if err != nil {
			return nil, err
		}
		run, _, err := store.Show(resume, nil)
		if err != nil {
			return nil, err
		}
		return &target{dir: pathDir(path), env: run.Environment}, nil
	case isPlanFile(path):
		saved, err := engine.ReadPlan(path)
		if err != nil {
			return nil, err
		}
		if f.env != "" && f.env != saved.Environment {
			return nil, fmt.Errorf("%s is a plan of pipeline %q for environment %s, not %s: "+
				"plan for %s with pipectl plan -env %s -out FILE", path, saved.Pipeline, orNone(saved.Environment), f.env, f.env, f.env)
		}
		return &target{dir: saved.Dir, env: saved.Environment, saved: saved}, nil
	}
	return &target{dir: pathDir(path), env: f.env}, nil
}

// planForApply returns the plan to apply: a saved one, checked against the
// world, or a fresh one the user confirmed.
func planForApply(cmd *cobra.Command, f *pipelineFlags, path string, autoApprove bool, t *target) (*session, *engine.Plan, error) {
	if t.resume != nil {
		return checkedPlan(cmd, f, t.dir, t.resume.plan, (*engine.Planner).CheckResume)
	}
	if t.saved != nil {
		return checkedPlan(cmd, f, t.dir, t.saved, (*engine.Planner).CheckSaved)
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
func checkedPlan(cmd *cobra.Command, f *pipelineFlags, dir string, saved *engine.Plan,
	check func(*engine.Planner, context.Context, *engine.Plan) (*engine.Plan, hcl.Diagnostics)) (*session, *engine.Plan, error) {
	given, err := f.inputs()
	if err != nil {
		return nil, nil, err
	}
	s, err := openSessionWith(cmd, f, dir, saved.Inputs(given))
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

func orNone(env string) string {
	if env == "" {
		return "(none)"
	}
	return env
}

// appliedBefore refuses a saved plan a recorded run already applied, as
// Terraform does: applying it again would do it all again.
func appliedBefore(store *runs.Store, path string, saved *engine.Plan) error {
	list, err := store.List()
	if err != nil {
		return err
	}
	for _, r := range list {
		if r.SavedPlan != "" && r.SavedPlan == saved.ContentHash {
			return fmt.Errorf("the plan %s was already applied, by run %s (%s): a saved plan is applied once. "+
				"Plan again; or resume that run (pipectl apply -resume %s); or, to really apply it again, -allow-reapply",
				path, r.ID, r.Status, r.ID)
		}
	}
	return nil
}

// exitOutputsFailed: the steps succeeded (and were recorded so) but an
// output block could not be evaluated; scripts can tell it from a failure.
const exitOutputsFailed = 3
