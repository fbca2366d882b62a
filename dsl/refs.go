package dsl

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// exprScope is where an expression appears, which decides what it may
// refer to: validation rules and environments are evaluated before locals,
// locals before any step runs, and each.* exists only in for_each steps.
type exprScope int

const (
	exprValidation exprScope = iota
	exprEnvironment
	exprLocal
	exprStage
	exprStep
	exprOutput
	exprPlugin
	exprGate
)

var scopes = map[exprScope]struct {
	where string
	roots []string
}{
	exprValidation:  {"a validation rule", []string{"var", "path", "pipeline"}},
	exprEnvironment: {"an environment block", []string{"var", "path", "pipeline"}},
	exprLocal:       {"a local value", []string{"var", "local", "env", "path", "pipeline"}},
	exprStage:       {"a stage", []string{"var", "local", "env", "step", "path", "pipeline"}},
	exprStep:        {"a step", []string{"var", "local", "env", "step", "each", "path", "pipeline", "run", "gate"}},
	exprOutput:      {"an output", []string{"var", "local", "env", "step", "path", "pipeline"}},
	exprPlugin:      {"a plugin block", []string{"var", "local", "env", "path", "pipeline"}},
	exprGate:        {"an approval, window or freeze block", []string{"var", "local", "env", "path", "pipeline"}},
}

// whyNot explains why a known root cannot be used in a scope.
var whyNot = map[string]string{
	"step":  "Step outputs exist only once steps run, after variables, environments and locals are evaluated. Refer to the step's output directly in the step or output that needs it.",
	"local": "Local values are evaluated after variables and the environment, and may depend on them.",
	"env":   "The environment's attributes are evaluated after variables are validated.",
	"each":  "each.key and each.value exist only in a step that has for_each.",
	"gate":  gateWhy,
	"run":   "run.* describes the run in progress: steps can use run.id, and on_failure and finally steps how the run went (run.status, run.failed_steps, run.steps).",
}

type scopedExpr struct {
	expr  hcl.Expression
	scope exprScope
	step  *Step // for exprStep
}

func (l *loader) scoped(expr hcl.Expression, scope exprScope, step *Step) {
	l.exprs = append(l.exprs, scopedExpr{expr, scope, step})
}

func (l *loader) checkReferences() {
	for _, se := range l.exprs {
		for _, t := range se.expr.Variables() {
			l.checkTraversal(t, se)
		}
	}
}

func (l *loader) checkTraversal(t hcl.Traversal, se scopedExpr) {
	root, rng := t.RootName(), t.SourceRange()
	sc := scopes[se.scope]
	allowed := false
	for _, r := range sc.roots {
		allowed = allowed || r == root
	}
	if !allowed {
		if _, known := whyNot[root]; known {
			l.errorf(rng, "Invalid reference", "%s.* cannot be used in %s. %s", root, sc.where, whyNot[root])
		} else if root == "stage" {
			l.errorf(rng, "Invalid reference", "A stage has no value: stage.NAME can only be used in depends_on.")
		} else {
			l.errorf(rng, "Unknown variable", "There is no variable named %q.%s Available here: %s.",
				root, suggest(root, sc.roots, ""), strings.Join(sc.roots, ", "))
		}
		return
	}
	name, hasName := traversalName(t)
	switch root {
	case "var":
		l.checkName(t, name, hasName, "var", "variable", l.cfg.Variables[name] != nil, func() []string { return slices.Sorted(maps.Keys(l.cfg.Variables)) })
	case "local":
		l.checkName(t, name, hasName, "local", "local value", l.cfg.Locals[name] != nil, func() []string { return slices.Sorted(maps.Keys(l.cfg.Locals)) })
	case "env":
		if len(t) > 1 {
			l.checkEnvAttr(t, name, hasName)
		}
	case "step":
		exists := l.cfg.stepIndex[name] != nil
		if l.checkName(t, name, hasName, "step", "step", exists, func() []string { return slices.Sorted(maps.Keys(l.cfg.stepIndex)) }) && se.step != nil {
			l.stepReference(se.step, Ref{Kind: "step", Name: name, Range: rng})
		}
	case "each":
		if se.step == nil || se.step.ForEach == nil {
			l.errorf(rng, "Invalid reference", "%s", whyNot["each"])
		} else if len(t) > 1 {
			l.checkFixed(t, name, hasName, "each", []string{"key", "value"})
		}
	case "path":
		l.checkFixed(t, name, hasName, "path", []string{"root"})
	case "pipeline":
		l.checkFixed(t, name, hasName, "pipeline", []string{"environment", "name"})
	case "run":
		l.checkRunRef(t, se.step)
	case "gate":
		l.checkGateRef(t, se.step, name, hasName)
	}
}

// traversalName returns the name after the root: x in var.x or var["x"].
func traversalName(t hcl.Traversal) (string, bool) {
	if len(t) < 2 {
		return "", false
	}
	switch step := t[1].(type) {
	case hcl.TraverseAttr:
		return step.Name, true
	case hcl.TraverseIndex:
		if k := step.Key; !k.IsNull() && k.IsKnown() && k.Type() == cty.String {
			return k.AsString(), true
		}
	}
	return "", false
}

// checkName checks a root.NAME reference against the declared names.
func (l *loader) checkName(t hcl.Traversal, name string, hasName bool, root, kind string, exists bool, declared func() []string) bool {
	rng := t.SourceRange()
	if !hasName {
		l.errorf(rng, "Invalid reference", "A reference to %s must name a %s, like %s.NAME.", root, kind, root)
		return false
	}
	if !exists {
		l.errorf(rng, "Reference to undeclared "+kind,
			"No %s named %q is declared.%s", kind, name, suggest(name, declared(), root+"."))
		return false
	}
	return true
}

func (l *loader) checkFixed(t hcl.Traversal, name string, hasName bool, root string, attrs []string) {
	if len(t) == 1 {
		return
	}
	if !hasName || !contains(attrs, name) {
		l.errorf(t.SourceRange(), "Unsupported attribute",
			"%s has no attribute %q.%s Available: %s.", root, name, suggest(name, attrs, root+"."),
			root+"."+strings.Join(attrs, ", "+root+"."))
	}
}

// checkEnvAttr checks that env.NAME is set by at least one environment; which
// one is selected is known only at Bind.
func (l *loader) checkEnvAttr(t hcl.Traversal, name string, hasName bool) {
	rng := t.SourceRange()
	if len(l.cfg.Environments) == 0 {
		l.errorf(rng, "No environments declared",
			"env.* refers to the selected environment, but the pipeline declares no environment block. Add one, like environment \"dev\" { %s = ... }.", name)
		return
	}
	if !hasName {
		return
	}
	seen := map[string]bool{}
	for _, e := range l.cfg.Environments {
		for attr := range e.Attrs {
			seen[attr] = true
		}
	}
	if !seen[name] {
		l.errorf(rng, "Reference to undeclared environment attribute",
			"No environment sets %q.%s", name, suggest(name, slices.Sorted(maps.Keys(seen)), "env."))
	}
}

func (l *loader) stepReference(from *Step, ref Ref) {
	if ref.Name == from.Name {
		l.errorf(ref.Range, "Self-referential step", "Step %q refers to its own outputs, which do not exist until it has run.", from.Name)
		return
	}
	for _, r := range from.refs {
		if r.Name == ref.Name {
			return
		}
	}
	from.refs = append(from.refs, ref)
}

// checkDependsOn checks that every depends_on entry names a declared step or
// stage, and none its own container.
func (l *loader) checkDependsOn() {
	for _, st := range l.cfg.Stages {
		for _, ref := range st.DependsOn {
			if ref.Kind == "stage" && ref.Name == st.Name {
				l.errorf(ref.Range, "Self-dependency", "Stage %q cannot depend on itself.", st.Name)
				continue
			}
			l.checkRef(ref)
		}
	}
	for _, s := range l.cfg.steps {
		for _, ref := range s.DependsOn {
			switch {
			case ref.Kind == "step" && ref.Name == s.Name:
				l.errorf(ref.Range, "Self-dependency", "Step %q cannot depend on itself.", s.Name)
			case ref.Kind == "stage" && ref.Name == s.Stage:
				l.errorf(ref.Range, "Self-dependency",
					"Step %q is part of stage %q, so it cannot wait for that stage to finish.", s.Name, s.Stage)
			default:
				l.checkRef(ref)
			}
		}
	}
}

// checkPlugins gives every plugin a step uses a requirement (its name as
// source, no constraint, when it has no block) and checks each step's
// plugin alias.
func (l *loader) checkPlugins() {
	for _, s := range l.cfg.steps {
		if s.Action.Plugin == "" {
			continue
		}
		req := l.pluginRequirement(s.Action.Plugin, s.Action.Range)
		if s.PluginAlias != "" && req.Aliases[s.PluginAlias] == nil {
			l.errorf(l.aliasRanges[s], "Unknown plugin configuration",
				"Plugin %q has no configuration with alias %q.%s Declare it with plugin %q { alias = %q ... }.",
				req.Name, s.PluginAlias, suggest(s.PluginAlias, slices.Sorted(maps.Keys(req.Aliases)), ""), req.Name, s.PluginAlias)
		}
	}
}

func (l *loader) checkRef(ref Ref) {
	var declared []string
	if ref.Kind == "step" {
		if l.cfg.stepIndex[ref.Name] != nil {
			return
		}
		declared = slices.Sorted(maps.Keys(l.cfg.stepIndex))
	} else {
		if l.cfg.stages[ref.Name] != nil {
			return
		}
		declared = slices.Sorted(maps.Keys(l.cfg.stages))
	}
	l.errorf(ref.Range, "Reference to undeclared "+ref.Kind,
		"No %s named %q is declared.%s", ref.Kind, ref.Name, suggest(ref.Name, declared, ref.Kind+"."))
}

// stepExpressions returns every expression of a step body in source order,
// nested blocks included, except action and depends_on, which are not
// value expressions, and skip (a misspelled action).
func stepExpressions(body hcl.Body, skip string) []hcl.Expression {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var out []hcl.Expression
	collectExpressions(sb, skip, true, &out)
	return out
}

// bodyExpressions returns every expression of a body, nested blocks included.
func bodyExpressions(body hcl.Body) []hcl.Expression {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var out []hcl.Expression
	collectExpressions(sb, "", false, &out)
	return out
}

func collectExpressions(b *hclsyntax.Body, skip string, top bool, out *[]hcl.Expression) {
	attrs := make([]*hclsyntax.Attribute, 0, len(b.Attributes))
	for name, attr := range b.Attributes {
		if top && (name == "action" || name == "plugin" || name == "depends_on" || name == skip) {
			continue
		}
		attrs = append(attrs, attr)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	for _, attr := range attrs {
		*out = append(*out, attr.Expr)
	}
	for _, block := range b.Blocks {
		if top && block.Type == "approval" {
			continue // a gate's expressions have their own scope (exprGate)
		}
		collectExpressions(block.Body, "", false, out)
	}
}

// suggest returns ` Did you mean PREFIXname?` (` Did you mean "name"?`
// without a prefix) for the closest candidate, as Terraform does, or "" when
// none is close.
func suggest(given string, candidates []string, prefix string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	if prefix == "" {
		return fmt.Sprintf(" Did you mean %q?", best)
	}
	return fmt.Sprintf(" Did you mean %s%s?", prefix, best)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
