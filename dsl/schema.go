package dsl

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// BlockSchema describes a body an action accepts: the step's configuration,
// or a block nested in it. Plugins publish one per action.
type BlockSchema struct {
	Attributes map[string]*AttributeSchema
	Blocks     map[string]*NestedBlockSchema

	body *hcl.BodySchema // what Content needs, when Ready made it once
}

// Ready makes what decoding against b needs once, for DecodeBody to use at
// every call rather than make it again: for a schema that no longer
// changes, such as one made from a plugin's, decoded against at every
// step. It returns b.
func (b *BlockSchema) Ready() *BlockSchema {
	for _, nb := range b.Blocks {
		nb.Block.Ready()
	}
	b.body = b.bodySchema()
	return b
}

// AttributeSchema describes one attribute. Optional attributes that are
// absent decode as null.
type AttributeSchema struct {
	Type      cty.Type
	Required  bool
	Sensitive bool // the value comes out marked with SensitiveMark
}

// Nesting is how many blocks of a type a body may have, and how they decode.
// The values are the plugin SDK's (sdk.Nesting), so that a plugin's schema
// converts as is; 0 is no nesting (engine refuses such a schema).
type Nesting int

const (
	NestingSingle Nesting = iota + 1 // at most one block: an object, null when absent
	NestingList                      // any number of blocks: a list of objects
	NestingMap                       // blocks with one label each: a map of label to object
)

// MapBlockLabel is the name of a NestingMap block's one label, as the SDK
// names it (sdk.MapBlockLabel).
const MapBlockLabel = "name"

// NestedBlockSchema describes a nested block type. MinItems and MaxItems
// bound the number of blocks; 0 means no bound (MinItems 1 on a
// NestingSingle block makes it required).
type NestedBlockSchema struct {
	Nesting            Nesting
	Block              BlockSchema
	MinItems, MaxItems int
}

// ImpliedType is the type of the value DecodeBody returns for the schema.
// As with hcldec, a list or map of blocks whose type is not fully known
// (attributes of type any) decodes to a tuple or an object, and its implied
// type is cty.DynamicPseudoType.
func (b *BlockSchema) ImpliedType() cty.Type {
	attrs := make(map[string]cty.Type, len(b.Attributes)+len(b.Blocks))
	for name, a := range b.Attributes {
		attrs[name] = a.Type
	}
	for name, nb := range b.Blocks {
		attrs[name] = nb.impliedType()
	}
	return cty.Object(attrs)
}

func (nb *NestedBlockSchema) impliedType() cty.Type {
	elem := nb.Block.ImpliedType()
	switch {
	case nb.Nesting == NestingSingle:
		return elem
	case elem.HasDynamicTypes():
		return cty.DynamicPseudoType
	case nb.Nesting == NestingMap:
		return cty.Map(elem)
	}
	return cty.List(elem)
}

func (b *BlockSchema) hclSchema() *hcl.BodySchema {
	if b.body != nil {
		return b.body
	}
	return b.bodySchema()
}

func (b *BlockSchema) bodySchema() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, name := range slices.Sorted(maps.Keys(b.Attributes)) {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: name, Required: b.Attributes[name].Required})
	}
	for _, name := range slices.Sorted(maps.Keys(b.Blocks)) {
		var labels []string
		if b.Blocks[name].Nesting == NestingMap {
			labels = []string{MapBlockLabel}
		}
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: name, LabelNames: labels})
	}
	return s
}

// DecodeBody decodes a body (a step's Config) against an action's schema,
// evaluating its expressions in ctx. The result is an object of the schema's
// implied type; unknown values pass through (plan time), sensitive
// attributes are marked with SensitiveMark. Every problem is reported:
// unsupported or misspelled names (with a suggestion), missing required
// attributes or blocks, values of the wrong type, too many blocks.
func DecodeBody(body hcl.Body, schema *BlockSchema, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	if body == nil || schema == nil {
		return cty.DynamicVal, nil
	}
	content, diags := body.Content(schema.hclSchema())
	vals := make(map[string]cty.Value, len(schema.Attributes)+len(schema.Blocks))
	for name, as := range schema.Attributes {
		var d hcl.Diagnostics
		vals[name], d = decodeAttribute(content.Attributes[name], as, ctx)
		diags = append(diags, d...)
	}
	byType := map[string][]*hcl.Block{}
	for _, b := range content.Blocks {
		byType[b.Type] = append(byType[b.Type], b)
	}
	for name, nb := range schema.Blocks {
		var d hcl.Diagnostics
		vals[name], d = decodeBlocks(name, byType[name], nb, body, ctx)
		diags = append(diags, d...)
	}
	sortDiagnostics(diags)
	return cty.ObjectVal(vals), diags
}

func decodeAttribute(attr *hcl.Attribute, as *AttributeSchema, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	if attr == nil {
		return cty.NullVal(as.Type), nil // a missing required one is reported by Content
	}
	val, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.UnknownVal(as.Type), diags
	}
	converted, err := convert.Convert(val, as.Type)
	if err != nil {
		return cty.UnknownVal(as.Type), append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect attribute value type",
			Detail:      fmt.Sprintf("Inappropriate value for attribute %q: %s; it must be %s.", attr.Name, err, typeexpr.TypeString(as.Type)),
			Subject:     attr.Expr.Range().Ptr(),
			Expression:  attr.Expr,
			EvalContext: ctx,
		})
	}
	if as.Sensitive {
		converted = converted.Mark(SensitiveMark)
	}
	return converted, diags
}

func decodeBlocks(name string, blocks []*hcl.Block, nb *NestedBlockSchema, parent hcl.Body, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	diags := countBlocks(name, blocks, nb, parent)
	ty := nb.Block.ImpliedType()
	if nb.Nesting == NestingSingle {
		if len(blocks) == 0 {
			return cty.NullVal(ty), diags
		}
		val, d := DecodeBody(blocks[0].Body, &nb.Block, ctx)
		return val, append(diags, d...)
	}
	elems := make([]cty.Value, 0, len(blocks))
	byLabel := make(map[string]cty.Value, len(blocks))
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		val, d := DecodeBody(b.Body, &nb.Block, ctx)
		diags = append(diags, d...)
		if nb.Nesting == NestingList {
			elems = append(elems, val)
			continue
		}
		label := b.Labels[0]
		if prev, dup := seen[label]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate " + name + " block",
				Detail:   fmt.Sprintf("A %s block labelled %q was already defined at %s.", name, label, prev),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		seen[label] = b.DefRange
		byLabel[label] = val
	}
	if nb.Nesting == NestingList {
		return listOf(elems, ty), diags
	}
	return mapOf(byLabel, ty), diags
}

// countBlocks checks MinItems and MaxItems (at most one for NestingSingle).
func countBlocks(name string, blocks []*hcl.Block, nb *NestedBlockSchema, parent hcl.Body) hcl.Diagnostics {
	max := nb.MaxItems
	if nb.Nesting == NestingSingle {
		max = 1
	}
	switch {
	case len(blocks) < nb.MinItems:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing " + name + " block",
			Detail:   fmt.Sprintf("At least %d %q block(s) are required here.", nb.MinItems, name),
			Subject:  parent.MissingItemRange().Ptr(),
		}}
	case max > 0 && len(blocks) > max:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Too many " + name + " blocks",
			Detail:   fmt.Sprintf("At most %d %q block(s) are allowed here; the first is at %s.", max, name, blocks[0].DefRange),
			Subject:  blocks[max].DefRange.Ptr(),
		}}
	}
	return nil
}

func listOf(elems []cty.Value, ty cty.Type) cty.Value {
	switch {
	case ty.HasDynamicTypes():
		return cty.TupleVal(elems)
	case len(elems) == 0:
		return cty.ListValEmpty(ty)
	case !cty.CanListVal(elems):
		return cty.TupleVal(elems)
	}
	return cty.ListVal(elems)
}

func mapOf(elems map[string]cty.Value, ty cty.Type) cty.Value {
	switch {
	case ty.HasDynamicTypes():
		return cty.ObjectVal(elems)
	case len(elems) == 0:
		return cty.MapValEmpty(ty)
	case !cty.CanMapVal(elems):
		return cty.ObjectVal(elems)
	}
	return cty.MapVal(elems)
}

// AttributeRange returns the best source range for a diagnostic about the
// given path of a decoded body — an attribute's value, an element of an
// object or tuple expression, a nested block — so that a plugin's
// complaint about, say, values[1] points at that element. It falls back to
// the closest enclosing item, then to the body.
func AttributeRange(body hcl.Body, path cty.Path) hcl.Range {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		if body == nil {
			return hcl.Range{}
		}
		return body.MissingItemRange()
	}
	rng := sb.SrcRange
	for i := 0; i < len(path); i++ {
		step, ok := path[i].(cty.GetAttrStep)
		if !ok {
			return rng
		}
		if attr, ok := sb.Attributes[step.Name]; ok {
			return exprRange(attr.Expr, path[i+1:])
		}
		var blocks []*hclsyntax.Block
		for _, b := range sb.Blocks {
			if b.Type == step.Name {
				blocks = append(blocks, b)
			}
		}
		if len(blocks) == 0 {
			return rng
		}
		block := blocks[0]
		if i+1 < len(path) {
			if idx, ok := path[i+1].(cty.IndexStep); ok {
				block = pickBlock(blocks, idx.Key)
				i++
			}
		}
		if block == nil {
			return rng
		}
		sb, rng = block.Body, block.DefRange()
	}
	return rng
}

func pickBlock(blocks []*hclsyntax.Block, key cty.Value) *hclsyntax.Block {
	if key.IsNull() || !key.IsKnown() {
		return nil
	}
	switch key.Type() {
	case cty.Number:
		if i, acc := key.AsBigFloat().Int64(); acc == 0 && i >= 0 && i < int64(len(blocks)) {
			return blocks[i]
		}
	case cty.String:
		for _, b := range blocks {
			if len(b.Labels) > 0 && b.Labels[0] == key.AsString() {
				return b
			}
		}
	}
	return nil
}

// exprRange narrows a range into object and tuple constructor expressions.
func exprRange(expr hclsyntax.Expression, path cty.Path) hcl.Range {
	if len(path) == 0 {
		return expr.Range()
	}
	var key cty.Value
	switch step := path[0].(type) {
	case cty.GetAttrStep:
		key = cty.StringVal(step.Name)
	case cty.IndexStep:
		key = step.Key
	}
	if key == cty.NilVal || key.IsNull() || !key.IsKnown() {
		return expr.Range()
	}
	switch e := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		for _, item := range e.Items {
			k, diags := item.KeyExpr.Value(nil)
			if !diags.HasErrors() && k.Type() == cty.String && key.Type() == cty.String && k.IsKnown() && !k.IsNull() && k.AsString() == key.AsString() {
				return exprRange(item.ValueExpr, path[1:])
			}
		}
	case *hclsyntax.TupleConsExpr:
		if key.Type() == cty.Number {
			if i, acc := key.AsBigFloat().Int64(); acc == 0 && i >= 0 && i < int64(len(e.Exprs)) {
				return exprRange(e.Exprs[i], path[1:])
			}
		}
	}
	return expr.Range()
}

// ConfigBlock is a step's escape for an action attribute named like a
// meta-argument, which a plugin built before the SDK refused such names may
// have: in a step, `timeout = "5m"` is always the step's timeout, and
// `config { timeout = "5s" }` sets the action's. Attributes in the block
// are the action's, as if written in the step's body.
const ConfigBlock = "config"

// actionBody is what the action's configuration decodes from: the step's
// body without its meta-arguments, plus its config block, unless the
// action has a config of its own.
func (s *Step) actionBody(config hcl.Body, schema *BlockSchema) (hcl.Body, hcl.Diagnostics) {
	if schema == nil || schema.Blocks[ConfigBlock] != nil || schema.Attributes[ConfigBlock] != nil || config == nil {
		return config, nil
	}
	if body, ok := config.(*hclsyntax.Body); ok && !slices.ContainsFunc(body.Blocks, func(b *hclsyntax.Block) bool { return b.Type == ConfigBlock }) {
		return config, nil // no config block: spare the split below, at every decode of every step
	}
	content, rest, diags := config.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: ConfigBlock}}})
	switch len(content.Blocks) {
	case 0:
		return config, nil
	case 1:
	default:
		second := content.Blocks[1]
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate config block",
			Detail:  fmt.Sprintf("Step %q already has a config block at %s. Put every attribute in one.", s.Name, content.Blocks[0].DefRange),
			Subject: second.DefRange.Ptr()})
	}
	return hcl.MergeBodies([]hcl.Body{rest, content.Blocks[0].Body}), diags
}

// DecodeConfig decodes the step's configuration against its action's
// schema, as DecodeBody does. A name the schema does not know and that looks
// like a misspelled meta-argument ("depend_on", "retyr") gets that
// suggestion.
func (s *Step) DecodeConfig(schema *BlockSchema, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	syntax := s.ConfigSyntax()
	config, diags := s.actionBody(syntax, schema)
	val, d := DecodeBody(config, schema, ctx)
	diags = append(diags, d...)
	body, ok := syntax.(*hclsyntax.Body)
	if !ok {
		return val, diags
	}
	for _, d := range diags {
		if d.Subject == nil || strings.Contains(d.Detail, "Did you mean") {
			continue
		}
		var name string
		switch d.Summary {
		case "Unsupported argument":
			for n, attr := range body.Attributes {
				if attr.NameRange == *d.Subject {
					name = n
				}
			}
		case "Unsupported block type":
			for _, b := range body.Blocks {
				if b.TypeRange == *d.Subject {
					name = b.Type
				}
			}
		}
		if hint := suggest(name, MetaArgumentNames(), ""); name != "" && hint != "" {
			d.Detail += strings.Replace(hint, "Did you mean", "Did you mean the meta-argument", 1)
		}
	}
	return val, diags
}
