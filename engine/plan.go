package engine

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
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

// PlanFormatVersion changes whenever a saved plan's layout does.
const PlanFormatVersion = 2

// Plan is what apply will do: every step, in dependency order, with what
// its action said it would do and a fingerprint of what it observed.
// Sensitive values never appear in it.
type Plan struct {
	FormatVersion int                        `json:"format_version"`
	Pipeline      string                     `json:"pipeline"`
	Dir           string                     `json:"dir"`
	Environment   string                     `json:"environment,omitempty"`
	ConfigDigest  string                     `json:"config_digest"`
	Variables     map[string]PlannedVariable `json:"variables"`
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

// HasChanges reports whether any step that may run would change the world
// (kind "change"). Steps that only run (checks, scans, commands) do not
// count, as Terraform does not count reading a data source.
func (p *Plan) HasChanges() bool {
	for _, s := range p.Steps {
		for _, in := range s.Instances {
			if s.Run != DecisionSkip && !in.Skipped && in.Kind == sdk.PlanChange.String() {
				return true
			}
		}
	}
	return false
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
	plan := &Plan{
		FormatVersion: PlanFormatVersion,
		Pipeline:      p.Config.Pipeline.Name,
		Dir:           dir,
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
		for _, name := range StepNames(phase.Graph) {
			s := p.Config.Step(name)
			if why := pl.Selection.LeftOut(name); why != "" && s.Kind == dsl.Main {
				plan.Steps = append(plan.Steps, pl.leftOut(s, phase, why))
				planned[name] = pl.Selection.value(name)
				continue
			}
			ps, value, d := pl.planStep(ctx, s, phase, planned)
			diags = append(diags, d...)
			plan.Steps = append(plan.Steps, ps)
			planned[name] = value
		}
	}
	unread := plan.unread(planned)
	outputs, d := p.Scope.OutputsExcept(planned, unread)
	diags = append(diags, d...)
	plan.Outputs = pl.plannedOutputs(outputs)
	plan.OutputsLeftOut = plan.outputsLeftOut(p.Config, unread)
	plan.Gates = plannedGates(p, plan.CreatedAt, pl.Redactor)
	return plan, diags
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
func (pl *Planner) planStep(ctx context.Context, s *dsl.Step, phase PhaseGraph, planned map[string]cty.Value) (*PlannedStep, cty.Value, hcl.Diagnostics) {
	ps := &PlannedStep{
		Name: s.Name, Stage: s.Stage, Phase: phase.Name, Action: s.Action.String(),
		DependsOn: DirectSteps(phase.Graph, StepAddr(s.Name)), Run: DecisionRun,
	}
	plugin, schema, diags := pl.plugin(ctx, s)
	if plugin == nil {
		return ps, cty.DynamicVal, diags
	}
	rs := pl.resolver().resolve(s, schema, planned, cty.NilVal)
	diags = rs.Diagnostics
	if rs.Action == nil {
		return ps, cty.DynamicVal, diags
	}
	meta := rs.Meta
	ps.Run = rs.Decision
	ps.Attempts, ps.ContinueOnError = meta.RetryAttempts, meta.ContinueOnError
	if meta.Timeout > 0 {
		ps.Timeout = meta.Timeout.String()
	}
	ps.Deferred = meta.ForEachUnknown
	outputs := map[string]cty.Value{}
	for _, ri := range rs.Instances {
		in := &PlannedInstance{Key: ri.Key}
		diags = append(diags, ri.Problem...)
		if ri.Skipped {
			in.Skipped = true
			ps.Instances = append(ps.Instances, in)
			continue
		}
		config, d := rs.Decode(ri)
		diags = append(diags, d...)
		pl.Redactor.AddValue(config)
		in.Config = JSONValue(config)
		ps.Instances = append(ps.Instances, in)
		if d.HasErrors() || rs.Decision == DecisionSkip {
			continue
		}
		res, err := plugin.Plan(ctx, client.PlanRequest{Action: s.Action.Name, StepID: instanceID(s.Name, ri.Key), Config: config})
		if err != nil {
			diags = append(diags, pluginError(s, err))
			continue
		}
		diags = append(diags, pluginDiagnostics(s, res.Diagnostics)...)
		in.Kind = res.Kind.String()
		in.Summary = pl.Redactor.String(res.Summary)
		in.Change = pl.Redactor.String(res.Change)
		in.Fingerprint = res.Fingerprint
		in.held = &heldValues{config: config, outputs: res.PlannedOutputs}
		pl.Redactor.AddValue(res.PlannedOutputs)
		outputs[ri.Key] = res.PlannedOutputs
	}
	return ps, rs.Value(outputs), diags
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

// plannedStep is Step on a plan that may be nil (a Runner without one).
func (p *Plan) plannedStep(name string) *PlannedStep {
	if p == nil {
		return nil
	}
	return p.Step(name)
}
