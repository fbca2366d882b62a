package dsl

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var pipelineSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "description"}, {Name: "fail_fast"}}}

func (l *loader) pipeline(block *hcl.Block) {
	if p := l.cfg.Pipeline; p != nil {
		l.errorf(block.DefRange, "Duplicate pipeline block",
			"A pipeline has exactly one pipeline block; %q is already declared at %s.", p.Name, p.DeclRange)
		return
	}
	p := &Pipeline{Name: block.Labels[0], DeclRange: block.DefRange}
	if p.Name == "" {
		l.errorf(block.LabelRanges[0], "Invalid pipeline name", "The pipeline name must not be empty.")
	}
	content, diags := block.Body.Content(pipelineSchema)
	l.diags = append(l.diags, diags...)
	p.Description = l.staticString(content.Attributes["description"])
	p.FailFast = true
	if attr := content.Attributes["fail_fast"]; attr != nil {
		p.FailFast = l.staticBool(attr)
	}
	l.cfg.Pipeline = p
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "condition", Required: true}, {Name: "error_message", Required: true},
}}

func (l *loader) variable(block *hcl.Block) {
	name := block.Labels[0]
	if !l.validName(block, "variable") {
		return
	}
	if prev, dup := l.cfg.Variables[name]; dup {
		l.duplicate(block, "variable", prev.DeclRange)
		return
	}
	v := &Variable{Name: name, Type: cty.DynamicPseudoType, DeclRange: block.DefRange}
	l.cfg.Variables[name] = v
	content, diags := block.Body.Content(variableSchema)
	l.diags = append(l.diags, diags...)
	attrs := content.Attributes
	v.Description = l.staticString(attrs["description"])
	v.Sensitive = l.staticBool(attrs["sensitive"])
	if attr := attrs["type"]; attr != nil {
		ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(attr.Expr)
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			v.Type, v.defaults = ty, defaults
		}
	}
	if attr := attrs["default"]; attr != nil {
		v.defaultRange = attr.Expr.Range()
		val, diags := attr.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			v.Default = l.convertDefault(v, val)
		}
	}
	for _, vb := range content.Blocks {
		vc, diags := vb.Body.Content(validationSchema)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		val := &Validation{vc.Attributes["condition"].Expr, vc.Attributes["error_message"].Expr, vb.DefRange}
		v.Validations = append(v.Validations, val)
		l.scoped(val.Condition, exprValidation, nil)
		l.scoped(val.ErrorMessage, exprValidation, nil)
	}
}

// convertDefault checks a default against the variable's type constraint.
func (l *loader) convertDefault(v *Variable, val cty.Value) cty.Value {
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	converted, err := convert.Convert(val, v.Type)
	if err != nil {
		l.errorf(v.defaultRange, "Invalid default value for variable",
			"The default value of variable %q does not match its type %s: %s.",
			v.Name, typeexpr.TypeString(v.Type), err)
		return cty.NilVal
	}
	return converted
}

func (l *loader) locals(block *hcl.Block) {
	attrs, diags := block.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		attr := attrs[name]
		if prev, dup := l.cfg.Locals[name]; dup {
			l.errorf(attr.NameRange, "Duplicate local value",
				"A local value named %q was already defined at %s. Local value names must be unique in the pipeline.",
				name, prev.DeclRange)
			continue
		}
		l.cfg.Locals[name] = &Local{Name: name, Expr: attr.Expr, DeclRange: attr.Range}
		l.scoped(attr.Expr, exprLocal, nil)
	}
}

func (l *loader) environment(block *hcl.Block) {
	name := block.Labels[0]
	if !l.validName(block, "environment") {
		return
	}
	if prev, dup := l.cfg.Environments[name]; dup {
		l.duplicate(block, "environment", prev.DeclRange)
		return
	}
	content, rest, diags := block.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{backendBlock}})
	l.diags = append(l.diags, diags...)
	attrs, diags := withoutBackends(rest).JustAttributes()
	l.diags = append(l.diags, diags...)
	e := &Environment{Name: name, Attrs: attrs, DeclRange: block.DefRange}
	for _, b := range content.Blocks {
		if got := l.backend(b, e.Backend); e.Backend == nil {
			e.Backend = got
		}
	}
	l.cfg.Environments[name] = e
	for _, attr := range attrs {
		l.scoped(attr.Expr, exprEnvironment, nil)
	}
}

// pluginMeta lists the plugin block's own arguments; every other attribute
// is a setting of the plugin, checked against the schema it publishes.
var pluginMeta = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}, {Name: "version"}, {Name: "alias"}}}

func (l *loader) plugin(block *hcl.Block) {
	name := block.Labels[0]
	if !l.validName(block, "plugin") {
		return
	}
	content, settings, diags := block.Body.PartialContent(pluginMeta)
	l.diags = append(l.diags, diags...)
	for _, expr := range bodyExpressions(settings) {
		l.scoped(expr, exprPlugin, nil)
	}
	req := l.pluginRequirement(name, block.DefRange)
	if attr := content.Attributes["alias"]; attr != nil {
		l.pluginAlias(req, attr, content, settings, block.DefRange)
		return
	}
	if req.Settings != nil {
		l.duplicate(block, "plugin", req.DeclRange)
		return
	}
	req.Settings, req.DeclRange = settings, block.DefRange
	if attr := content.Attributes["source"]; attr != nil {
		if s := l.staticString(attr); s != "" {
			req.Source = s
		}
	}
	if attr := content.Attributes["version"]; attr != nil {
		req.Version = l.staticString(attr)
		if _, err := version.NewConstraint(req.Version); err != nil && req.Version != "" {
			l.errorf(attr.Expr.Range(), "Invalid version constraint",
				"%q is not a version constraint: %s. Write constraints like \">= 1.0, < 2.0\" or \"~> 1.2\".", req.Version, err)
		}
	}
}

// pluginRequirement returns the plugin's requirement, adding it on first use.
func (l *loader) pluginRequirement(name string, rng hcl.Range) *PluginRequirement {
	req := l.cfg.Plugins[name]
	if req == nil {
		req = &PluginRequirement{Name: name, Source: name, Aliases: map[string]*PluginAlias{}, DeclRange: rng}
		l.cfg.Plugins[name] = req
	}
	return req
}

// pluginAlias adds a `plugin "name" { alias = "x" }` configuration. Source
// and version belong to the plugin, so only its unaliased block has them.
func (l *loader) pluginAlias(req *PluginRequirement, attr *hcl.Attribute, content *hcl.BodyContent, settings hcl.Body, rng hcl.Range) {
	alias := l.staticString(attr)
	if alias == "" {
		return
	}
	if !hclsyntax.ValidIdentifier(alias) {
		l.errorf(attr.Expr.Range(), "Invalid plugin alias",
			"%q is not a valid alias: use letters, digits, underscores and dashes, starting with a letter.", alias)
		return
	}
	for _, meta := range []string{"source", "version"} {
		if a := content.Attributes[meta]; a != nil {
			l.errorf(a.NameRange, "Unexpected "+meta,
				"An aliased plugin block configures the plugin again; its %s belongs in the plugin's block without alias.", meta)
		}
	}
	if prev := req.Aliases[alias]; prev != nil {
		l.errorf(attr.Expr.Range(), "Duplicate plugin alias",
			"Plugin %q already has a configuration with alias %q at %s.", req.Name, alias, prev.DeclRange)
		return
	}
	req.Aliases[alias] = &PluginAlias{Plugin: req.Name, Alias: alias, Settings: settings, DeclRange: rng}
}

var outputSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"},
}}

func (l *loader) output(block *hcl.Block) {
	name := block.Labels[0]
	if !l.validName(block, "output") {
		return
	}
	if prev, dup := l.cfg.Outputs[name]; dup {
		l.duplicate(block, "output", prev.DeclRange)
		return
	}
	content, diags := block.Body.Content(outputSchema)
	l.diags = append(l.diags, diags...)
	o := &Output{Name: name, DeclRange: block.DefRange}
	o.Description = l.staticString(content.Attributes["description"])
	o.Sensitive = l.staticBool(content.Attributes["sensitive"])
	if attr := content.Attributes["value"]; attr != nil {
		o.Value = attr.Expr
		l.scoped(attr.Expr, exprOutput, nil)
	}
	l.cfg.Outputs[name] = o
}

// validName checks that a block's label can be used in references
// (var.NAME, step.NAME...).
func (l *loader) validName(block *hcl.Block, kind string) bool {
	name := block.Labels[0]
	if hclsyntax.ValidIdentifier(name) {
		return true
	}
	l.errorf(block.LabelRanges[0], "Invalid "+kind+" name",
		"%q is not a valid %s name: a name starts with a letter or underscore and contains only letters, digits, underscores and dashes.",
		name, kind)
	return false
}

func (l *loader) duplicate(block *hcl.Block, kind string, prev hcl.Range) {
	l.errorf(block.DefRange, "Duplicate "+kind+" declaration",
		"A %s named %q was already declared at %s. %s names must be unique in the pipeline.",
		kind, block.Labels[0], prev, kind)
}

// staticString evaluates an optional attribute that must be a constant string.
func (l *loader) staticString(attr *hcl.Attribute) string {
	val := l.staticValue(attr, cty.String, "a string")
	if val.IsNull() {
		return ""
	}
	return val.AsString()
}

// staticBool evaluates an optional attribute that must be a constant bool.
func (l *loader) staticBool(attr *hcl.Attribute) bool {
	val := l.staticValue(attr, cty.Bool, "true or false")
	return !val.IsNull() && val.True()
}

func (l *loader) staticValue(attr *hcl.Attribute, ty cty.Type, want string) cty.Value {
	if attr == nil {
		return cty.NullVal(ty)
	}
	val, diags := attr.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.NullVal(ty)
	}
	converted, err := convert.Convert(val, ty)
	if err != nil || converted.IsNull() || !converted.IsWhollyKnown() {
		l.errorf(attr.Expr.Range(), fmt.Sprintf("Invalid %s value", attr.Name),
			"The %s argument must be %s.", attr.Name, want)
		return cty.NullVal(ty)
	}
	return converted
}

// withoutBackends is an environment's body without its backend blocks:
// hclsyntax's JustAttributes reports any block, even one PartialContent
// took, and the environment's other blocks must still be reported.
func withoutBackends(body hcl.Body) hcl.Body {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return body
	}
	c := *sb
	c.Blocks = slices.DeleteFunc(slices.Clone(sb.Blocks), func(b *hclsyntax.Block) bool { return b.Type == backendBlock.Type })
	return &c
}
