package engine

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// PlanFormatVersion changes whenever a saved plan's layout does. Format 3
// records the pipeline by content (Sources) rather than by its absolute
// directory; a plan of an older format is refused, saying to plan again.
const PlanFormatVersion = 3

// Plan is what apply will do: every step, in dependency order, with what
// its action said it would do and a fingerprint of what it observed.
// Sensitive values never appear in it.
type Plan struct {
	FormatVersion int    `json:"format_version"`
	Pipeline      string `json:"pipeline"`
	// PlannedIn is the directory the plan was made in, on the machine it
	// was made on: a hint when apply finds no pipeline, never read from.
	PlannedIn string `json:"planned_in"`
	// File is the pipeline's file when it is one file, not a directory.
	File         string `json:"file,omitempty"`
	Environment  string `json:"environment,omitempty"`
	ConfigDigest string `json:"config_digest"`
	// Sources are the files the plan was made from, by content.
	Sources   *Sources                   `json:"sources,omitempty"`
	Variables map[string]PlannedVariable `json:"variables"`
	// Salt of the digests of sensitive variables (see PlannedVariable).
	Salt  string         `json:"salt,omitempty"`
	Steps []*PlannedStep `json:"steps"`
	// Gates are the approvals and deploy windows that hold stages or
	// steps back (gate.go), in declaration order.
	Gates []*PlannedGate `json:"gates,omitempty"`
	// Outputs are the pipeline's outputs as planned: unknown where they
	// read what only apply knows, redacted where sensitive.
	Outputs map[string]any `json:"outputs,omitempty"`
	// OutputsLeftOut are the outputs a subset run gives no value, as they
	// read a step it leaves out: output name → why.
	OutputsLeftOut map[string]string `json:"outputs_left_out,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	// ContentHash is the sha256 of the rest of the saved plan: an edited
	// plan file is refused (see WritePlan).
	ContentHash string `json:"content_hash,omitempty"`
	// values is what each step evaluated to while planning, for the
	// checks at gates (recheck.go); in memory only: it may hold secrets.
	values map[string]cty.Value
	// A subset run (see Selection): the -target addresses, or the -only
	// stage and the run the outputs of the steps before it come from.
	Targets  []string `json:"targets,omitempty"`
	Only     string   `json:"only,omitempty"`
	OnlyFrom string   `json:"only_from,omitempty"`
}

// PlannedVariable is a variable's value as planned; a sensitive value is
// not saved and must be given again to apply the plan. Its salted digest
// is saved, so that a value given again that differs — or a default that
// stands in for a value not given again — is refused.
type PlannedVariable struct {
	Value     string `json:"value,omitempty"` // as -var would give it
	Sensitive bool   `json:"sensitive,omitempty"`
	Digest    string `json:"digest,omitempty"` // sensitive: PBKDF2-SHA256 of the value, with the plan's salt
}

// PlannedStep is one step of the plan.
type PlannedStep struct {
	Name      string   `json:"name"`
	Stage     string   `json:"stage,omitempty"`
	Phase     Phase    `json:"phase"`
	Action    string   `json:"action"`
	DependsOn []string `json:"depends_on,omitempty"`
	// Run is "yes", "no" (its when condition is false, or it is left out)
	// or "unknown" (decided at apply).
	Run Decision `json:"run"`
	// When is its when condition as written (a failure handler's says when
	// it acts); "" without one.
	When string `json:"when,omitempty"`
	// LeftOut says why a subset run (-target, -only) leaves the step out.
	LeftOut string `json:"left_out,omitempty"`
	// Deferred is true when for_each depends on outputs not known yet: the
	// instances are decided at apply.
	Deferred bool `json:"deferred,omitempty"`
	// How it runs: per-attempt timeout, total attempts, continue_on_error.
	Timeout         string             `json:"timeout,omitempty"`
	Attempts        int                `json:"attempts,omitempty"`
	ContinueOnError bool               `json:"continue_on_error,omitempty"`
	Instances       []*PlannedInstance `json:"instances,omitempty"`
	// Restores, on a failure handler that changes something, names the
	// main steps planned to change the same target (outcome.go): a failed
	// run they changed counts as restored when this handler succeeds.
	Restores []string `json:"restores,omitempty"`
}

// PlannedInstance is one instance of a step (one per for_each key).
type PlannedInstance struct {
	Key     string `json:"key,omitempty"`
	Skipped bool   `json:"skipped,omitempty"` // its when condition is false for this instance
	// Kind is what the action said apply would do: "no-change", "change"
	// (Change says how) or "run" (a check, a command); "" when not planned.
	Kind        string `json:"kind,omitempty"`
	Summary     string `json:"summary"`
	Change      string `json:"change,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Config      any    `json:"config,omitempty"` // redacted, unknowns marked

	// What the action was planned with and said it would output, for the
	// Runner to leave an unchanged instance alone; never saved (they may
	// hold secrets), so a plan read from a file has none. Behind a pointer
	// so that even printing the plan with %+v shows no secret.
	held *heldValues
}

type heldValues struct{ config, outputs cty.Value }

// unchangedFor reports whether apply may leave the instance alone: its
// plan said "no change" for exactly this config, with outputs known.
func (in *PlannedInstance) unchangedFor(config cty.Value) bool {
	if in == nil || in.Kind != sdk.PlanNoChange.String() || in.held == nil {
		return false
	}
	h := in.held
	if h.config == cty.NilVal || h.outputs == cty.NilVal || !h.config.IsWhollyKnown() || !h.outputs.IsWhollyKnown() {
		return false
	}
	planned, _ := h.config.UnmarkDeep()
	now, _ := config.UnmarkDeep()
	return planned.RawEquals(now)
}

// Instance returns the planned instance of a step by key, or nil.
func (s *PlannedStep) Instance(key string) *PlannedInstance {
	if s == nil {
		return nil
	}
	for _, in := range s.Instances {
		if in.Key == key {
			return in
		}
	}
	return nil
}

// HasChanges reports whether any main step that may run would change the
// world (kind "change"). Steps that only run (checks, scans, commands) do
// not count, as Terraform does not count reading a data source; nor do
// failure handlers and finally steps: a rollback that may run after a
// failure is not a change of a run that succeeds.
func (p *Plan) HasChanges() bool {
	for _, s := range p.Steps {
		if s.Phase != PhaseMain || s.LeftOut != "" {
			continue
		}
		for _, in := range s.Instances {
			if s.Run != DecisionSkip && !in.Skipped && in.Kind == sdk.PlanChange.String() {
				return true
			}
		}
	}
	return false
}

// StepsByName indexes the planned steps by name, for callers that look
// up every step (Step is a scan).
func (p *Plan) StepsByName() map[string]*PlannedStep {
	if p == nil {
		return nil
	}
	out := make(map[string]*PlannedStep, len(p.Steps))
	for _, s := range p.Steps {
		out[s.Name] = s
	}
	return out
}

// Step returns the planned step by name, or nil.
func (p *Plan) Step(name string) *PlannedStep {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Planner plans a pipeline with the plugins of a host.
type Planner struct {
	Pipeline *Pipeline
	Host     *pluginhost.Host
	Redactor *Redactor
	// Selection, when set, plans a subset run: the main steps it leaves
	// out are not planned.
	Selection *Selection

	unavailable map[string]bool // plugins whose launch failure was reported
	steps       *stepResolver
	sources     *sourceRecorder // what the plan being made read
}

// plugin gets a step's plugin; a plugin that cannot start is reported on
// its first step only, not on every step that uses it.
func (pl *Planner) plugin(ctx context.Context, s *dsl.Step) (*client.Plugin, *sdk.Schema, hcl.Diagnostics) {
	key := s.PluginConfigKey()
	p, schema, err := pl.Host.Plugin(ctx, key)
	if err == nil {
		return p, schema, nil
	}
	if pl.unavailable[key] {
		return nil, nil, nil
	}
	if pl.unavailable == nil {
		pl.unavailable = map[string]bool{}
	}
	pl.unavailable[key] = true
	return nil, nil, launchDiagnostics(s, err)
}

// Plan asks every step's action what it would do. Values from upstream
// steps are what their plan announced, unknown where known only after
// apply. All problems are reported, not just the first.
func (pl *Planner) Plan(ctx context.Context) (*Plan, hcl.Diagnostics) {
	p := pl.Pipeline
	dir, err := filepath.Abs(p.Config.Dir) // applied from anywhere
	if err != nil {
		dir = p.Config.Dir
	}
	salt := newSalt()
	pl.sources = newSourceRecorder(p)
	plan := &Plan{
		FormatVersion: PlanFormatVersion,
		Pipeline:      p.Config.Pipeline.Name,
		PlannedIn:     dir,
		File:          p.Config.File,
		Environment:   p.Scope.Environment,
		ConfigDigest:  p.ConfigDigest(),
		Variables:     plannedVariables(p, salt),
		Salt:          salt,
		CreatedAt:     time.Now().UTC(),
	}
	if sel := pl.Selection; sel != nil {
		plan.Targets, plan.Only, plan.OnlyFrom = sel.Targets, sel.Only, sel.From
	}
	p.LearnSecrets(pl.Redactor)
	planned := map[string]cty.Value{}
	var diags hcl.Diagnostics
	for _, phase := range p.Graph.Phases() {
		names := StepNames(phase.Graph)
		steps := pl.planPhase(ctx, phase, planned)
		for _, name := range names { // in the graph's order, however they were planned
			plan.Steps = append(plan.Steps, steps[name].step)
			diags = append(diags, steps[name].diags...)
			planned[name] = steps[name].value
		}
	}
	plan.values = planned
	unread := plan.unread(planned)
	outputs, d := p.Scope.OutputsExcept(planned, unread)
	diags = append(diags, d...)
	plan.Outputs = pl.plannedOutputs(outputs)
	plan.OutputsLeftOut = plan.outputsLeftOut(p.Config, unread)
	plan.Gates = plannedGates(p, plan.CreatedAt, pl.Redactor)
	for _, path := range p.Scope.Reads.Paths() { // read while binding and planning
		pl.sources.add(path)
	}
	plan.Sources = pl.sources.withoutSecrets(pl.Redactor)
	markRestores(plan, p.Config)
	return plan, diags
}

// plannedStepResult is one step's plan, and the value downstream steps see.
type plannedStepResult struct {
	step  *PlannedStep
	value cty.Value
	diags hcl.Diagnostics
}

// planParallelism is how many steps are planned at once: a plan call is a
// round trip to a plugin process, and one after the other they made the
// plan of a large pipeline wait on latency rather than work.
const planParallelism = 16

// planPhase plans the steps of one phase graph, each once the steps it
// depends on are planned (their planned values are what it reads), up to
// planParallelism at once. earlier holds the values of the phases before.
func (pl *Planner) planPhase(ctx context.Context, phase PhaseGraph, earlier map[string]cty.Value) map[string]plannedStepResult {
	out := map[string]plannedStepResult{}
	var mu sync.Mutex // pl's launch bookkeeping
	value := func(name string) (cty.Value, bool) {
		if r, ok := out[name]; ok {
			return r.value, true
		}
		v, ok := earlier[name]
		return v, ok
	}
	frontier := phase.Graph.Frontier()
	sem := make(chan struct{}, planParallelism)
	type planned struct {
		addr Addr
		plannedStepResult
	}
	done := make(chan planned)
	inFlight := 0
	for {
		for ready := frontier.Take(); len(ready) > 0; ready = frontier.Take() { // stage nodes settle at once
			for _, addr := range ready {
				name, isStep := addr.Step()
				if !isStep {
					frontier.Done(addr)
					continue
				}
				s := pl.Pipeline.Config.Step(name)
				if why := pl.Selection.LeftOut(name); why != "" && s.Kind == dsl.Main {
					out[name] = plannedStepResult{step: pl.leftOut(s, phase, why), value: pl.Selection.value(name)}
					frontier.Done(addr)
					continue
				}
				values := referenced(s, pl.Pipeline.Config, value)
				inFlight++
				go func() {
					sem <- struct{}{}
					ps, v, d := pl.planStep(ctx, s, phase, values, &mu)
					<-sem
					done <- planned{addr, plannedStepResult{step: ps, value: v, diags: d}}
				}()
			}
		}
		if inFlight == 0 {
			return out
		}
		r := <-done
		inFlight--
		name, _ := r.addr.Step()
		out[name] = r.plannedStepResult
		frontier.Done(r.addr) // planned, failed or not: a failure plans downstream with unknowns
	}
}

// referenced is what a step's expressions read of the values planned so
// far: the steps it and its stage's condition refer to.
func referenced(s *dsl.Step, cfg *dsl.Config, value func(string) (cty.Value, bool)) map[string]cty.Value {
	refs := s.References()
	if st := cfg.Stage(s.Stage); st != nil {
		refs = append(refs, stageConditionRefs(st)...)
	}
	out := make(map[string]cty.Value, len(refs))
	for _, r := range refs {
		if v, ok := value(r.Name); ok {
			out[r.Name] = v
		}
	}
	return out
}

// plannedOutputs is the outputs for the plan: redacted, unknowns marked.
func (pl *Planner) plannedOutputs(out map[string]cty.Value) map[string]any {
	if len(out) == 0 {
		return nil
	}
	m := make(map[string]any, len(out))
	for k, v := range out {
		pl.Redactor.AddValue(v)
		m[k] = pl.Redactor.Any(JSONValue(v))
	}
	return m
}

// planStep plans one step and returns the value downstream steps see.
// mu guards the planner's own state, as steps are planned side by side.
func (pl *Planner) planStep(ctx context.Context, s *dsl.Step, phase PhaseGraph, planned map[string]cty.Value, mu *sync.Mutex) (*PlannedStep, cty.Value, hcl.Diagnostics) {
	ps := &PlannedStep{
		Name: s.Name, Stage: s.Stage, Phase: phase.Name, Action: s.Action.String(),
		DependsOn: DirectSteps(phase.Graph, StepAddr(s.Name)), Run: DecisionRun,
	}
	mu.Lock()
	plugin, schema, diags := pl.plugin(ctx, s)
	resolver := pl.resolver()
	mu.Unlock()
	if plugin == nil {
		return ps, cty.DynamicVal, diags
	}
	rs := resolver.resolve(s, schema, planned, cty.NilVal)
	diags = rs.Diagnostics
	if rs.Action == nil {
		return ps, cty.DynamicVal, diags
	}
	diags = append(diags, metaWarnings(s, schema.Name, rs.Action)...)
	meta := rs.Meta
	ps.Run = rs.Decision
	ps.When = pl.Redactor.String(pl.Pipeline.Source(s.When))
	ps.Attempts, ps.ContinueOnError = meta.RetryAttempts, meta.ContinueOnError
	if meta.Timeout > 0 {
		ps.Timeout = meta.Timeout.String()
	}
	ps.Deferred = meta.ForEachUnknown
	// Each instance is decoded in order, then planned side by side: one
	// call after the other, a for_each of a thousand waited on a thousand
	// round trips. Diagnostics stay in instance order.
	type instancePlan struct {
		in     *PlannedInstance
		key    string
		config cty.Value
		plan   bool // decoded, and the step is not skipped
		diags  hcl.Diagnostics
		res    *client.PlanResult
		err    error
	}
	instances := make([]*instancePlan, 0, len(rs.Instances))
	for _, ri := range rs.Instances {
		ip := &instancePlan{in: &PlannedInstance{Key: ri.Key}, key: ri.Key, diags: ri.Problem}
		ps.Instances = append(ps.Instances, ip.in)
		instances = append(instances, ip)
		if ri.Skipped {
			ip.in.Skipped = true
			continue
		}
		config, d := rs.Decode(ri)
		ip.diags = append(ip.diags, d...)
		pl.Redactor.AddValue(config)
		ip.in.Config = JSONValue(config)
		ip.config, ip.plan = config, !d.HasErrors() && rs.Decision != DecisionSkip
	}
	forEachParallel(instances, planParallelism, func(ip *instancePlan) {
		if ip.plan {
			ip.res, ip.err = plugin.Plan(ctx, client.PlanRequest{Action: s.Action.Name, StepID: instanceID(s.Name, ip.key), Config: ip.config})
		}
	})
	outputs := map[string]cty.Value{}
	for _, ip := range instances {
		diags = append(diags, ip.diags...)
		res, in := ip.res, ip.in
		switch {
		case ip.err != nil:
			diags = append(diags, pluginError(s, ip.err))
			continue
		case res == nil:
			continue
		}
		diags = append(diags, pluginDiagnostics(s, res.Diagnostics)...)
		in.Kind = res.Kind.String()
		in.Summary = pl.Redactor.String(res.Summary)
		in.Change = pl.Redactor.String(res.Change)
		in.Fingerprint = res.Fingerprint
		in.held = &heldValues{config: ip.config, outputs: res.PlannedOutputs}
		pl.readPaths(res, ip.config)
		pl.Redactor.AddValue(res.PlannedOutputs)
		outputs[ip.key] = res.PlannedOutputs
	}
	return ps, rs.Value(outputs), diags
}

// forEachParallel calls fn for each item, up to n at once, and returns
// when every call has: one item is called in place, with no goroutine.
func forEachParallel[T any](items []T, n int, fn func(T)) {
	if len(items) == 1 {
		fn(items[0])
		return
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(it)
		})
	}
	wg.Wait()
}

// readPaths records what a step's plugin reads: the paths it reports
// (Capabilities.PlanReadPaths), and every string of the configuration that
// names a file or a directory in the pipeline directory. The guess stays
// beside the report: a plugin reports what its Plan read, while a command
// it runs at apply (std.exec's args) reads what the configuration names.
// A path recorded in excess only makes the saved plan stricter.
func (pl *Planner) readPaths(res *client.PlanResult, config cty.Value) {
	if pl.sources == nil { // re-planning for a check (recheck): nothing is recorded
		return
	}
	for _, p := range res.ReadPaths {
		pl.sources.add(p)
	}
	pl.sources.addStrings(config)
}

// resolver is the planner's step resolver, made on first use.
func (pl *Planner) resolver() *stepResolver {
	if pl.steps == nil {
		pl.steps = newStepResolver(pl.Pipeline)
	}
	return pl.steps
}

func pluginError(s *dsl.Step, err error) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Plugin %q failed for step %q", s.Action.Plugin, s.Name),
		Detail:   err.Error(),
		Subject:  s.Action.Range.Ptr(),
	}
}

// plannedVariables records the variables as -var would give them again;
// sensitive values are left out.
func plannedVariables(p *Pipeline, salt string) map[string]PlannedVariable {
	out := map[string]PlannedVariable{}
	for name, v := range p.Scope.Vars {
		if v.HasMark(dsl.SensitiveMark) || p.Config.Variables[name].Sensitive {
			out[name] = PlannedVariable{Sensitive: true, Digest: secretDigest(salt, name, v)}
			continue
		}
		if d := p.Config.Variables[name].Default; d != cty.NilVal && d.RawEquals(v) {
			continue // binding again gives the default
		}
		out[name] = PlannedVariable{Value: rawValue(v)}
	}
	return out
}

// rawValue is the -var text that gives v back: primitives literally,
// collections in JSON, which is valid HCL.
func rawValue(v cty.Value) string {
	if v.Type().IsPrimitiveType() {
		s, err := convert.Convert(v, cty.String)
		if err == nil && !s.IsNull() {
			return s.AsString()
		}
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return ""
	}
	return string(b)
}

func newSalt() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// secretDigest is what a plan keeps of a sensitive value: enough to tell
// whether the value given at apply is the same, slow to guess from (PBKDF2,
// salted per plan and per variable), never the value.
func secretDigest(salt, name string, v cty.Value) string {
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return ""
	}
	key, err := pbkdf2.Key(sha256.New, rawValue(v), []byte(salt+"\x00"+name), 100_000, 32)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(key)
}
