package operation

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine"
	"github.com/pipectl/pipectl/record"
)

// Apply runs a pipeline: a saved plan checked against the world, a failed
// run resumed, or a fresh plan the user confirmed. It locks the
// environment, records the run and runs it. The callbacks are the user
// interface (cmd/pipectl's views); the fields are the command's options.
type Apply struct {
	cfg *Configuration

	// Inputs are the -env, -var and -var-file values.
	Inputs dsl.Inputs
	// Parallelism is how many steps may run at once (at least 1).
	Parallelism int
	// AutoApprove applies a fresh plan without asking Confirm.
	AutoApprove bool
	// Resume is the id of a failed, cancelled or interrupted run to resume.
	Resume string
	// Dir is the pipeline a saved plan is applied against, a directory or
	// a file ("": the current directory). It is never the directory the
	// plan names: that one is another machine's, maybe.
	Dir string
	// AllowReapply applies a saved plan a recorded run applied before.
	AllowReapply bool
	// LockTimeout is how long to wait for another apply of the
	// environment to finish (0: do not wait); OnLockWait is told once
	// when the wait starts, with who holds the lock.
	LockTimeout time.Duration
	OnLockWait  func(record.Holder)
	// Backend overrides the pipeline's backend block (-backend-config).
	Backend BackendConfig
	// Subset runs part of the pipeline (-target, -only); a saved or
	// resumed plan carries its own.
	Subset Subset
	// Gates: who applies, approvals given ahead, window overrides (gates.go).
	Gates Gates
	// Park stops the run at an approval gate that waits, parked: it keeps
	// the environment's lock, and apply -resume continues it on any
	// runner once it is answered (Applied.Err is ErrParked).
	Park bool

	// Diagnostics receives warnings and errors as they come, with the
	// source files of the pipeline they are about (nil before one is
	// loaded). It is called once a pipeline is loaded, and after
	// planning, even with no diagnostics.
	Diagnostics func(files map[string]*hcl.File, diags hcl.Diagnostics)
	// Confirm shows a fresh plan and asks to run it. Without AutoApprove
	// it must be set, or Run returns ErrNoConfirmation before planning.
	Confirm func(*engine.Plan) bool
	// Start is called with the plan once the run is recorded; the run's
	// events go to the sink it returns (the view), and to the record.
	Start func(*engine.Plan) engine.EventSink
	// Interruptible, when set, gives the contexts of the run once it
	// starts: ctx cancels the steps (failure handlers and finally still
	// run), kill cancels those too. stop is called when the run is over.
	Interruptible func(ctx context.Context) (run, kill context.Context, stop func())
	// RecordError is told when the record can no longer be written; the
	// run then stops as if cancelled (Applied.RecordFailed).
	RecordError func(storePath string, err error)
	// Report, when set, is the file the run's HTML report is written to
	// once the run is recorded (as Report writes it).
	Report string
}

// NewApply is an Apply on cfg, with the default parallelism.
func NewApply(cfg *Configuration) *Apply { return &Apply{cfg: cfg, Parallelism: 10} }

// ErrNoConfirmation: a fresh plan is to be applied, without AutoApprove,
// and there is nobody to confirm it.
var ErrNoConfirmation = errors.New("there is no one to answer the confirmation")

// ErrNotConfirmed: the user did not confirm the plan; nothing was done.
var ErrNotConfirmed = errors.New("apply cancelled: nothing was done")

// Applied is what a run did.
type Applied struct {
	Plan      *engine.Plan
	Result    *engine.Result
	RunID     string
	StorePath string
	// RecordFailed: the record could not be written, so the run stopped.
	RecordFailed bool
	// Incomplete is why the record could not be finished (nil when it
	// was): the run is marked so. OutcomesKept: its step outcomes were
	// kept beside the record, so it can be resumed from them.
	Incomplete   error
	OutcomesKept bool
	// RecordCost is what recording the run wrote.
	RecordCost record.RecordCost
	// ReportError is why the report (Apply.Report) was not written: the
	// run's outcome stays the run's, the report is not the run.
	ReportError error
	// ParkFailed is why a parked run's lock could not be kept for it
	// (Err is then ErrParkedUnlocked, not ErrParked).
	ParkFailed error
}

// applyTarget is what an apply works on: the pipeline (path) and its
// directory and the environment (to lock them before planning), and, for
// Resume, the run.
type applyTarget struct {
	path, dir, env string
	saved          *engine.Plan // a saved plan being applied
	resume         *resumption
}

// Run applies path: a saved plan, or a pipeline directory or file.
func (a *Apply) Run(ctx context.Context, path string) (*Applied, error) {
	if a.Parallelism < 1 {
		return nil, fmt.Errorf("-parallelism must be at least 1, not %d", a.Parallelism)
	}
	if a.LockTimeout < 0 {
		return nil, fmt.Errorf("-lock-timeout must not be negative, not %s", a.LockTimeout)
	}
	// What is applied, where, is known before planning: a saved plan
	// names its directory and environment, a run being resumed too.
	t, err := a.target(path)
	if err != nil {
		return nil, err
	}
	if (t.saved != nil || a.Resume != "") && !a.Subset.empty() {
		return nil, fmt.Errorf("-target and -only apply to a fresh plan: a saved plan or a resumed run applies the steps it was planned with")
	}
	// Resuming the run that left a stale lock takes that lock over: the
	// resume is the explicit recovery.
	if a.Gates.User == "" {
		if a.Gates.User, err = Who(); err != nil {
			return nil, err
		}
	}
	store, lock, err := lockEnvironment(ctx, t.dir, t.env, a.Backend, &a.Gates, record.LockOptions{Timeout: a.LockTimeout, OnWait: a.OnLockWait, TakeOver: a.Resume})
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := store.Init(); err != nil { // a damaged record stops us here, before anything runs
		return nil, err
	}
	if a.Resume != "" {
		if t.resume, err = loadResumption(store, a.Resume); err != nil {
			return nil, err
		}
	}
	if t.saved != nil {
		if err := a.appliedBefore(store, path, t.saved); err != nil {
			return nil, err
		}
	}
	s, plan, err := a.plan(ctx, path, t)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	// Checked, the saved plan is its hash: its steps (a copy of the run's
	// plan, ~20 MB at 100,000 steps) would stay live through the run.
	var savedHash string
	if t.saved != nil {
		savedHash, t.saved = t.saved.ContentHash, nil
	}
	approvals, err := a.Gates.preApprovals(plan)
	if err != nil {
		return nil, err
	}
	if savedHash != "" {
		// The mark, not the check above, makes the plan single use: of two
		// applies of it at once, one is refused here, before any step.
		var again *record.PlanAppliedError
		if err := store.MarkPlanApplied(savedHash, lock.RunID()); err != nil && !(errors.As(err, &again) && a.AllowReapply) {
			return nil, err
		}
	}
	recorder, err := store.StartRun(lock, plan, s.Redactor)
	if err != nil {
		return nil, fmt.Errorf("cannot record the run in %s, so it does not start: %w", store.Path(), err)
	}
	if err := a.Gates.startGates(recorder, approvals, t.resume); err != nil {
		_ = recorder.Finish()
		return nil, err
	}
	if savedHash != "" {
		recorder.FromSavedPlan(savedHash)
	}
	recorder.SetTookOver(lock.TookOver())
	out, err := a.run(ctx, s, plan, t, store, recorder, lock.Held)
	if err == nil && out.Result.Status == engine.StatusParked && out.Incomplete == nil {
		gate, until := parkedLock(out.Result.Parked)
		if perr := lock.Park(gate, until); perr != nil { // the deferred Release frees the environment
			out.ParkFailed = fmt.Errorf("run %s parked at %s, but its environment's lock could not be kept for it (%w): "+
				"the environment is not held while the run waits, and another apply may start. Once the gate is answered, "+
				"%s continues it", out.RunID, gate, perr, v1.CommandsFor(out.RunID).Resume)
		}
	}
	return out, err
}

// parkedLock is what a parked run's lock says: the gate it waits at, and
// the latest of its gates' deadlines (zero when one has none: the lock
// holds until the run is resumed).
func parkedLock(parked []engine.ParkedGate) (string, time.Time) {
	var until time.Time
	for _, p := range parked {
		if p.Until.IsZero() {
			return parked[0].Gate, time.Time{}
		}
		until = maxTime(until, p.Until)
	}
	return parked[0].Gate, until
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// run runs a recorded plan to its end and finishes the record.
// mayStart is asked before each step: the lock still held.
func (a *Apply) run(ctx context.Context, s *Session, plan *engine.Plan, t *applyTarget, store *record.Store, recorder *record.Recorder, mayStart func() error) (*Applied, error) {
	var sink engine.EventSink = engine.EventFunc(func(engine.Event) {})
	if a.Start != nil {
		sink = a.Start(plan)
	}
	var prompt engine.EventSink = engine.EventFunc(func(engine.Event) {})
	if a.Gates.Prompt != nil {
		prompt = a.Gates.Prompt.sink(plan, recorder.ID(), a.Gates.User, func(ans engine.GateAnswer) error {
			ans.Groups = a.Gates.Groups // the starter's, as the backend authenticated them
			return recorder.PutAnswer(ans)
		})
	}
	ctx, kill := ctx, ctx
	if a.Interruptible != nil {
		var stop func()
		ctx, kill, stop = a.Interruptible(ctx)
		defer stop()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &Applied{Plan: plan, RunID: recorder.ID(), StorePath: store.Path()}
	var once sync.Once
	var recordFailed atomic.Bool
	recorder.OnWriteError(func(err error) {
		once.Do(func() {
			recordFailed.Store(true)
			if a.RecordError != nil {
				a.RecordError(store.Path(), err)
			}
			cancel()
		})
	})
	runner := &engine.Runner{Pipeline: s.Pipeline, Host: s.Host, Redactor: s.Redactor, Parallelism: a.Parallelism, Plan: plan,
		Events:      engine.EventFunc(func(e engine.Event) { sink.Event(e); recorder.Event(e); prompt.Event(e) }),
		OnStepValue: recorder.StepValue, RunID: recorder.ID(), Gates: a.Gates.options(recorder, t.resume), MayStart: mayStart}
	if sel := s.Planner.Selection; sel != nil && sel.From != "" {
		runner.Done, runner.Resumed = sel.Values, sel.From // -only: the outputs of the steps before
	}
	if res := t.resume; res != nil {
		runner.Done, runner.Resumed, runner.Continues = res.done(s.Pipeline), res.id, true
		recorder.ResumeOf(res.id)
		if res.parked != nil { // its gates' answers and deadlines carry over
			runner.Gates.Answers = newResumedAnswers(recorder, store, res.answered)
			runner.Gates.Deadlines = res.parked
		}
	}
	runner.Gates.Park = a.Park
	out.Result = runner.Apply(ctx, kill)
	s.Release() // the run is over: its plugins stop while its record is finished
	out.Incomplete = recorder.Finish()
	out.OutcomesKept = recorder.OutcomesKept()
	out.RecordCost = recorder.Cost()
	out.RecordFailed = recordFailed.Load()
	if a.Report != "" && out.Incomplete == nil {
		out.ReportError = writeReport(store, out.RunID, a.Report)
	}
	return out, nil
}

// target finds what path is to apply, and refuses before anything is
// written (the lock, the record) when it finds no pipeline.
func (a *Apply) target(path string) (*applyTarget, error) {
	switch {
	case a.Resume != "":
		store, err := openRecords(path, a.Inputs.Environment, a.Backend)
		if err != nil {
			return nil, err
		}
		env := a.Inputs.Environment
		if a.Resume == Latest { // as runs show latest: the newest run (of -env's environment)
			if a.Resume, err = store.LatestOf(record.Filter{Environment: env}); err != nil {
				return nil, err
			}
		}
		run, _, err := store.Show(a.Resume, nil)
		if err != nil {
			return nil, err
		}
		if env != "" && env != run.Environment {
			return nil, fmt.Errorf("run %s is a run of environment %s, not %s: a resumed run applies to its own environment. "+
				"Resume it without -env, or resume a run of %s (pipectl runs; -resume latest -env %s is the newest)",
				run.ID, orNone(run.Environment), env, env, env)
		}
		return &applyTarget{path: path, dir: PipelineDir(path), env: run.Environment}, nil
	case IsPlanFile(path):
		return a.savedTarget(path)
	}
	if _, _, err := dsl.Files(path); err != nil {
		return nil, fmt.Errorf("%s is neither a saved plan nor a pipeline (%s): give a plan saved by pipectl plan -out FILE, "+
			"or a pipeline's directory or .hcl file", path, noPipeline(err))
	}
	return &applyTarget{path: path, dir: PipelineDir(path), env: a.Inputs.Environment}, nil
}

// savedTarget reads a saved plan and finds the pipeline to apply it
// against: Dir, else the current directory; never the directory the plan
// was made in, which it names only as a hint.
func (a *Apply) savedTarget(file string) (*applyTarget, error) {
	saved, err := engine.ReadPlan(file)
	if err != nil {
		return nil, err
	}
	if env := a.Inputs.Environment; env != "" && env != saved.Environment {
		return nil, fmt.Errorf("%s is a plan of pipeline %q for environment %s, not %s: "+
			"plan for %s with pipectl plan -env %s -out FILE", file, saved.Pipeline, orNone(saved.Environment), env, env, env)
	}
	dir := a.Dir
	if dir == "" {
		dir = "."
	}
	path := dir
	if info, err := os.Stat(dir); err == nil && info.IsDir() && saved.File != "" {
		path = filepath.Join(dir, saved.File)
	}
	if _, _, err := dsl.Files(path); err != nil {
		where := "the current directory"
		if a.Dir != "" && a.Dir != "." {
			where = a.Dir
		}
		return nil, fmt.Errorf("%s holds no pipeline to apply %s against (%s). Give the pipeline's directory: pipectl apply %s DIR "+
			"(the plan was made in %s, on the machine that made it)", where, file, noPipeline(err), file, saved.PlannedIn)
	}
	return &applyTarget{path: path, dir: PipelineDir(path), env: saved.Environment, saved: saved}, nil
}

// noPipeline says why dsl.Files found no pipeline, without repeating
// the path.
func noPipeline(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, dsl.ErrNoPipelineFiles):
		return "no .hcl files"
	case errors.As(err, &pe):
		return pe.Err.Error()
	}
	return err.Error()
}

// plan returns the plan to apply: a saved one (or a resumed run's),
// checked against the world, or a fresh one the user confirmed.
func (a *Apply) plan(ctx context.Context, path string, t *applyTarget) (*Session, *engine.Plan, error) {
	if t.resume != nil {
		return a.checkedPlan(ctx, t, t.resume.plan, t.resume.check)
	}
	if t.saved != nil {
		if diags := engine.CheckSources(t.saved, t.dir); diags.HasErrors() { // before anything is evaluated
			a.diagnostics(nil, diags)
			return nil, nil, ErrDiagnostics
		}
		return a.checkedPlan(ctx, t, t.saved, (*engine.Planner).CheckSaved)
	}
	if !a.AutoApprove && a.Confirm == nil {
		return nil, nil, ErrNoConfirmation
	}
	s, err := a.open(path, a.Inputs)
	if err != nil {
		return nil, nil, err
	}
	if diags := selectSteps(s, t.dir, a.Subset); diags.HasErrors() {
		a.diagnostics(s.Pipeline, diags)
		s.Close()
		return nil, nil, ErrDiagnostics
	}
	plan, diags := s.Planner.Plan(ctx)
	a.diagnostics(s.Pipeline, diags)
	if diags.HasErrors() {
		s.Close()
		return nil, nil, ErrDiagnostics
	}
	if !a.AutoApprove && !a.Confirm(plan) {
		s.Close()
		return nil, nil, ErrNotConfirmed
	}
	return s, plan, nil
}

// checkedPlan opens the pipeline a plan was made from, with the plan's
// choices, and checks the plan still holds.
func (a *Apply) checkedPlan(ctx context.Context, t *applyTarget, saved *engine.Plan,
	check func(*engine.Planner, context.Context, *engine.Plan) (*engine.Plan, hcl.Diagnostics)) (*Session, *engine.Plan, error) {
	s, err := a.open(t.path, engine.PlanInputs(saved, a.Inputs))
	if err != nil {
		return nil, nil, err
	}
	sub := subsetOf(saved)
	sub.Backend = a.Backend
	if diags := selectSteps(s, t.dir, sub); diags.HasErrors() {
		a.diagnostics(s.Pipeline, diags)
		s.Close()
		return nil, nil, ErrDiagnostics
	}
	plan, diags := check(s.Planner, ctx, saved)
	a.diagnostics(s.Pipeline, diags)
	if diags.HasErrors() {
		s.Close()
		return nil, nil, ErrDiagnostics
	}
	return s, plan, nil
}

// open opens a session and reports its diagnostics (warnings too).
func (a *Apply) open(path string, in dsl.Inputs) (*Session, error) {
	s, p, diags := a.cfg.Open(path, in)
	a.diagnostics(p, diags)
	if s == nil {
		return nil, ErrDiagnostics
	}
	return s, nil
}

func (a *Apply) diagnostics(p *engine.Pipeline, diags hcl.Diagnostics) {
	if a.Diagnostics != nil {
		a.Diagnostics(sourceFiles(p), diags)
	}
}

// IsPlanFile tells a saved plan from a pipeline file or directory.
func IsPlanFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && !strings.HasSuffix(path, ".hcl")
}

func orNone(env string) string {
	if env == "" {
		return "(none)"
	}
	return env
}

// appliedBefore refuses a saved plan a recorded run already applied, as
// Terraform does: applying it again would do it all again. A plan made
// before the record started to keep saved plans (a fresh workspace, a
// moved or new record) may have been applied where it cannot tell: a
// warning says so.
func (a *Apply) appliedBefore(store *record.Store, path string, saved *engine.Plan) error {
	run, since, err := store.PlanApplied(saved.ContentHash)
	switch {
	case err != nil:
		return err
	case run != "" && !a.AllowReapply:
		if _, _, err := store.Show(run, nil); err != nil { // pruned, or it never started
			return fmt.Errorf("the plan %s was already applied, by run %s, which is no longer in the record (pruned): a saved plan is applied once. "+
				"Plan again; or, to really apply it again, -allow-reapply", path, run)
		}
		return fmt.Errorf("the plan %s was already applied, by run %s: a saved plan is applied once. "+
			"Plan again; or resume that run (pipectl apply -resume %s); or, to really apply it again, -allow-reapply",
			path, run, run)
	case run == "" && saved.CreatedAt.Before(since):
		a.diagnostics(nil, hcl.Diagnostics{{Severity: hcl.DiagWarning,
			Summary: "Cannot tell whether this plan was applied before",
			Detail: fmt.Sprintf("The plan %s was made at %s; the record in %s keeps the saved plans applied since %s only, "+
				"so it cannot tell whether this one was applied before (by another workspace, or a record since moved or deleted). "+
				"If it may have been, plan again rather than apply it.",
				path, saved.CreatedAt.UTC().Format(time.RFC3339), store.Path(), since.UTC().Format(time.RFC3339))}})
	}
	return nil
}
