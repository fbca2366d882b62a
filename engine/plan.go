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

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/engine/pluginhost"
	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/client"
)

// unchangedFor reports whether apply may leave the instance alone: its
// plan said "no change" for exactly this config, with outputs known.
func unchangedFor(in *PlannedInstance, config cty.Value) bool {
	if in == nil || in.Kind != sdk.PlanNoChange.String() || in.Held == nil {
		return false
	}
	h := in.Held
	if h.Config == cty.NilVal || h.Outputs == cty.NilVal || !h.Config.IsWhollyKnown() || !h.Outputs.IsWhollyKnown() {
		return false
	}
	planned, _ := h.Config.UnmarkDeep()
	now, _ := config.UnmarkDeep()
	return planned.RawEquals(now)
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
	plan.Values = planned
	unread := unreadSteps(plan, planned)
	outputs, d := p.Scope.OutputsExcept(planned, unread)
	diags = append(diags, d...)
	plan.Outputs = pl.plannedOutputs(outputs)
	plan.OutputsLeftOut = outputsLeftOut(plan, p.Config, unread)
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
		m[k] = pl.Redactor.Any(dsl.JSONValue(v))
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
	rs := resolver.resolve(s, schema, planned, cty.NilVal, cty.NilVal)
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
		ip.in.Config = dsl.JSONValue(config)
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
		in.Held = &v1.Held{Config: ip.config, Outputs: res.PlannedOutputs}
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
