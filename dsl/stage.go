package dsl

import (
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var stageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "depends_on"}, {Name: "when"}, {Name: "outside_window"}},
	Blocks: []hcl.BlockHeaderSchema{{Type: "step", LabelNames: []string{"name"}}, {Type: "on_failure"},
		{Type: "approval"}, {Type: "window"}, {Type: "freeze"}},
}

var handlersSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "step", LabelNames: []string{"name"}}}}

// metaSchema lists a step's meta-arguments; everything else in a step body is
// the action's configuration.
var metaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "action"}, {Name: "plugin"}, {Name: "depends_on"}, {Name: "when"}, {Name: "for_each"},
		{Name: "timeout"}, {Name: "continue_on_error"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "retry"}, {Type: "approval"}},
}

var retrySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "attempts", Required: true}, {Name: "backoff"},
}}

func (l *loader) stage(block *hcl.Block) {
	name := block.Labels[0]
	if !l.validName(block, "stage") {
		return
	}
	if prev, dup := l.cfg.stages[name]; dup {
		l.duplicate(block, "stage", prev.DeclRange)
		return
	}
	st := &Stage{Name: name, DeclRange: block.DefRange}
	l.cfg.stages[name] = st
	l.cfg.Stages = append(l.cfg.Stages, st)

	content, diags := block.Body.Content(stageSchema)
	l.diags = append(l.diags, diags...)
	if attr := content.Attributes["depends_on"]; attr != nil {
		st.DependsOn = l.dependsOn(attr)
	}
	if attr := content.Attributes["when"]; attr != nil {
		st.When = attr.Expr
		l.scoped(attr.Expr, exprStage, nil)
	}
	gate := &GateConfig{OutsideWindow: exprOf(content.Attributes["outside_window"])}
	l.gateExprs(gate.OutsideWindow)
	var onFailure *hcl.Range
	for _, b := range content.Blocks {
		switch b.Type {
		case "approval", "window", "freeze":
			l.gateBlock(gate, b, "Stage "+strconv.Quote(name))
		case "step":
			if s := l.step(b, name, Main); s != nil {
				st.Steps = append(st.Steps, s)
			}
		case "on_failure":
			if onFailure != nil {
				l.errorf(b.DefRange, "Duplicate on_failure block",
					"Stage %q already has an on_failure block at %s. Move these steps into it.", name, *onFailure)
				continue
			}
			onFailure = b.DefRange.Ptr()
			st.OnFailure = l.handlerSteps(b, name, StageOnFailure)
		}
	}
	if gate.Approval != nil || len(gate.Windows) > 0 || len(gate.Freezes) > 0 || gate.OutsideWindow != nil {
		st.Gate = gate
		l.checkGate(gate, "stage."+name)
	}
	if len(st.Steps) == 0 {
		l.errorf(block.DefRange, "Empty stage", "Stage %q has no steps. Add at least one step block, or remove the stage.", name)
	}
}

// handlerSteps decodes the steps of an on_failure or finally block.
func (l *loader) handlerSteps(block *hcl.Block, stage string, kind StepKind) []*Step {
	content, diags := block.Body.Content(handlersSchema)
	l.diags = append(l.diags, diags...)
	var steps []*Step
	for _, b := range content.Blocks {
		if s := l.step(b, stage, kind); s != nil {
			steps = append(steps, s)
		}
	}
	return steps
}

func (l *loader) step(block *hcl.Block, stage string, kind StepKind) *Step {
	if !l.validName(block, "step") {
		return nil
	}
	s := &Step{Name: block.Labels[0], Stage: stage, Kind: kind, DeclRange: block.DefRange}
	content, config, diags := block.Body.PartialContent(metaSchema)
	l.diags = append(l.diags, diags...)
	s.Config = l.configOf(block, config)
	attrs := content.Attributes

	misspelled := ""
	if attr := attrs["action"]; attr != nil {
		s.Action = l.action(attr)
	} else if misspelled = misspelledMeta(config, "action"); misspelled != "" {
		attr := config.(*hclsyntax.Body).Attributes[misspelled]
		l.errorf(attr.NameRange, "Missing action",
			"Step %q has no action. Did you mean \"action\" instead of %q?", s.Name, misspelled)
	} else {
		l.errorf(block.DefRange, "Missing action",
			"Step %q has no action. Say what it does with action = PLUGIN.ACTION, for example action = std.exec.", s.Name)
	}
	if attr := attrs["plugin"]; attr != nil {
		var rng hcl.Range
		s.PluginAlias, rng = l.stepPlugin(attr, s.Action)
		l.aliasRanges[s] = rng
	}
	if attr := attrs["depends_on"]; attr != nil {
		s.DependsOn = l.dependsOn(attr)
	}
	s.When = exprOf(attrs["when"])
	s.ForEach = exprOf(attrs["for_each"])
	s.Timeout = exprOf(attrs["timeout"])
	s.ContinueOnError = exprOf(attrs["continue_on_error"])
	for _, b := range content.Blocks {
		if b.Type == "approval" {
			l.stepApproval(s, b)
			continue
		}
		if s.Retry != nil {
			l.errorf(b.DefRange, "Duplicate retry block", "Step %q already has a retry block at %s.", s.Name, s.Retry.DeclRange)
			continue
		}
		rc, diags := b.Body.Content(retrySchema)
		l.diags = append(l.diags, diags...)
		s.Retry = &Retry{Attempts: exprOf(rc.Attributes["attempts"]), Backoff: exprOf(rc.Attributes["backoff"]), DeclRange: b.DefRange}
	}
	for _, expr := range stepExpressions(block.Body, misspelled) {
		l.scoped(expr, exprStep, s)
	}
	l.noEach(s)
	return s
}

// noEach rejects each.* in the meta-arguments that apply to the step as a
// whole rather than to one instance: for_each itself, timeout, retry and
// continue_on_error. (when may use each, to skip some instances.)
func (l *loader) noEach(s *Step) {
	exprs := map[string]hcl.Expression{"for_each": s.ForEach, "timeout": s.Timeout, "continue_on_error": s.ContinueOnError}
	if s.Retry != nil {
		exprs["attempts"], exprs["backoff"] = s.Retry.Attempts, s.Retry.Backoff
	}
	for _, name := range slices.Sorted(maps.Keys(exprs)) {
		if exprs[name] == nil {
			continue
		}
		for _, t := range exprs[name].Variables() {
			if t.RootName() == "each" {
				l.errorf(t.SourceRange(), "Invalid reference",
					"%s cannot refer to each.*: it applies to the step as a whole, not to one instance.", name)
			}
		}
	}
}

// withoutMeta is a step's configuration: its body in native syntax
// without the meta-arguments (metaSchema's attributes and blocks), as
// PartialContent's remainder reads. The remainder is a copy of the body
// and a set of the names it hides, all nine whether the step sets them or
// not, and it keeps the hidden attributes' syntax (action = std.noop) that
// the step has decoded already: this copy holds 1,200 bytes a step less
// for the life of the pipeline (BenchmarkLoad, 10,000 steps: 3,547 ->
// 2,347 retained).
func withoutMeta(sb *hclsyntax.Body) *hclsyntax.Body {
	config := &hclsyntax.Body{SrcRange: sb.SrcRange, EndRange: sb.EndRange}
	for name, attr := range sb.Attributes {
		if !slices.ContainsFunc(metaSchema.Attributes, func(a hcl.AttributeSchema) bool { return a.Name == name }) {
			if config.Attributes == nil {
				config.Attributes = hclsyntax.Attributes{}
			}
			config.Attributes[name] = attr
		}
	}
	for _, b := range sb.Blocks {
		if !slices.ContainsFunc(metaSchema.Blocks, func(h hcl.BlockHeaderSchema) bool { return h.Type == b.Type }) {
			config.Blocks = append(config.Blocks, b)
		}
	}
	return config
}

func exprOf(attr *hcl.Attribute) hcl.Expression {
	if attr == nil {
		return nil
	}
	return attr.Expr
}

// action decodes `action = plugin.name`.
func (l *loader) action(attr *hcl.Attribute) ActionRef {
	traversal, diags := hcl.AbsTraversalForExpr(attr.Expr)
	if !diags.HasErrors() && len(traversal) == 2 {
		if name, ok := traversal[1].(hcl.TraverseAttr); ok {
			return ActionRef{Plugin: traversal.RootName(), Name: name.Name, Range: attr.Expr.Range()}
		}
	}
	l.errorf(attr.Expr.Range(), "Invalid action",
		"An action is a plugin name and an action name, without quotes, like action = helm.upgrade.")
	return ActionRef{Range: attr.Expr.Range()}
}

// stepPlugin decodes `plugin = k8s.eu`, the aliased configuration of the
// action's plugin that runs the step; whether it exists is checked once
// every file is loaded (checkPluginAliases).
func (l *loader) stepPlugin(attr *hcl.Attribute, action ActionRef) (string, hcl.Range) {
	rng := attr.Expr.Range()
	traversal, diags := hcl.AbsTraversalForExpr(attr.Expr)
	if !diags.HasErrors() && len(traversal) == 2 {
		if alias, ok := traversal[1].(hcl.TraverseAttr); ok {
			if action.Plugin != "" && traversal.RootName() != action.Plugin {
				l.errorf(rng, "Plugin does not match the action",
					"The step's action is from plugin %q, so its plugin configuration must be one of %q's, like plugin = %s.%s.",
					action.Plugin, action.Plugin, action.Plugin, alias.Name)
				return "", rng
			}
			return alias.Name, rng
		}
	}
	l.errorf(rng, "Invalid plugin configuration",
		"plugin selects an aliased configuration of the action's plugin, without quotes, like plugin = k8s.eu.")
	return "", rng
}

// dependsOn decodes a list of step.NAME / stage.NAME references; whether
// they exist is checked once every file is loaded.
func (l *loader) dependsOn(attr *hcl.Attribute) []Ref {
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		l.errorf(attr.Expr.Range(), "Invalid depends_on",
			"depends_on must be a list of references, like depends_on = [step.lint, stage.pre_deploy].")
		return nil
	}
	refs := make([]Ref, 0, len(exprs))
	for _, expr := range exprs {
		if ref, ok := dependsOnRef(expr); ok {
			refs = append(refs, ref)
			continue
		}
		l.errorf(expr.Range(), "Invalid depends_on reference",
			"Each depends_on entry is a step or a stage, like step.lint or stage.pre_deploy, without quotes or attributes.")
	}
	return refs
}

func dependsOnRef(expr hcl.Expression) (Ref, bool) {
	traversal, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(traversal) != 2 {
		return Ref{}, false
	}
	kind := traversal.RootName()
	name, ok := traversal[1].(hcl.TraverseAttr)
	if !ok || (kind != "step" && kind != "stage") {
		return Ref{}, false
	}
	return Ref{Kind: kind, Name: name.Name, Range: expr.Range()}, true
}

// indexSteps registers steps by name, reporting names used twice.
func (l *loader) indexSteps(steps []*Step) {
	for _, s := range steps {
		if prev, dup := l.cfg.stepIndex[s.Name]; dup {
			l.errorf(s.DeclRange, "Duplicate step declaration",
				"A step named %q was already declared at %s. Step names must be unique in the whole pipeline.",
				s.Name, prev.DeclRange)
			continue
		}
		l.cfg.stepIndex[s.Name] = s
		l.cfg.steps = append(l.cfg.steps, s)
	}
}

// misspelledMeta returns the configuration attribute that looks like a
// misspelling of the given meta-argument, or "".
func misspelledMeta(config hcl.Body, meta string) string {
	body, ok := config.(*hclsyntax.Body)
	if !ok {
		return ""
	}
	for _, name := range slices.Sorted(maps.Keys(body.Attributes)) {
		if !isMetaArgument(name) && suggest(name, []string{meta}, "") != "" {
			return name
		}
	}
	return ""
}

func isMetaArgument(name string) bool {
	for _, a := range metaSchema.Attributes {
		if a.Name == name {
			return true
		}
	}
	return name == "retry" || name == "approval"
}

// MetaArgumentNames lists a step's meta-arguments: in a step's body these
// names are the host's, never the action's (see ConfigBlock).
func MetaArgumentNames() []string { return slices.Clip(metaArgumentNames()) }

// metaArgumentNames is made once: plan asks for every step.
var metaArgumentNames = sync.OnceValue(func() []string {
	names := []string{"retry", "approval"}
	for _, a := range metaSchema.Attributes {
		names = append(names, a.Name)
	}
	return names
})

// stepApproval decodes a step's approval block: the step waits for it
// before its first instance starts. A failure handler runs because
// something failed: it never waits.
func (l *loader) stepApproval(s *Step, b *hcl.Block) {
	if s.Kind == OnWaiting {
		l.errorf(b.DefRange, "Approval on an on_waiting step",
			"Step %q is an on_waiting step: it tells approvers that a gate waits, and must not wait itself. Put the approval on a stage or a main step.", s.Name)
		return
	}
	if s.Kind != Main {
		l.errorf(b.DefRange, "Approval on a failure handler",
			"Step %q is a %s step: it runs because something failed and must not wait for anyone. Put the approval on a stage or a main step.", s.Name, s.Kind)
		return
	}
	if s.Gate == nil {
		s.Gate = &GateConfig{}
	}
	l.gateBlock(s.Gate, b, "Step "+strconv.Quote(s.Name))
	l.checkGate(s.Gate, "step."+s.Name)
}
