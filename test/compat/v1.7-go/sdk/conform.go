package sdk

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// conformConfig checks a step's config against the action's block and
// returns it in the block's implied type ty: absent optional attributes
// null, types converted, sensitive attributes marked. Unknown values stay
// unknown.
func conformConfig(b *Block, ty cty.Type, v cty.Value) (cty.Value, Diagnostics) {
	var diags Diagnostics
	if v == cty.NilVal || v.IsNull() {
		v = cty.EmptyObjectVal
	}
	if !v.IsKnown() {
		return cty.UnknownVal(ty.WithoutOptionalAttributesDeep()), nil
	}
	out := v
	if len(b.Blocks) > 0 || !fits(b.Attributes, v.Type()) { // what a host sends fits; anything else is checked name by name
		checkNames(b, v, nil, &diags)
		if diags.HasErrors() {
			return cty.NilVal, diags
		}
		var err error
		if out, err = convert.Convert(v, ty); err != nil {
			diags.Append(pathDiag(err, "Invalid config"))
			return cty.NilVal, diags
		}
	}
	var sensitive []cty.PathValueMarks
	checkBlock(b, out, nil, &diags, &sensitive)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return out.MarkWithPaths(sensitive), diags
}

// fits tells a value whose type is already the one attrs make: an object
// with exactly those attributes, each of its type (or any type where the
// attribute takes any). Checking its names would find nothing wrong and
// converting it would give it back unchanged, so both are skipped: a host
// sends every config so, and a plugin most outputs, at every call.
func fits(attrs map[string]*Attribute, ty cty.Type) bool {
	if !ty.IsObjectType() || len(ty.AttributeTypes()) != len(attrs) {
		return false
	}
	for name, at := range ty.AttributeTypes() {
		a, ok := attrs[name]
		if !ok || !(at.Equals(a.Type) || a.Type == cty.DynamicPseudoType) {
			return false
		}
	}
	return true
}

// checkNames reports values of the wrong type, arguments and blocks the schema does not have (convert
// would silently drop them) and required arguments that are absent.
func checkNames(b *Block, v cty.Value, path cty.Path, diags *Diagnostics) {
	v, _ = v.Unmark()
	if !v.IsKnown() || v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(b.Attributes)) {
		a := b.Attributes[name]
		if a.Required && v.Type().IsObjectType() && !v.Type().HasAttribute(name) {
			diags.Append(Diagnostic{Severity: Error, Summary: fmt.Sprintf("Missing required argument %q", name),
				Detail: describe(name, a), Attribute: path.Copy().GetAttr(name)})
		}
	}
	vals := v.AsValueMap()
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		av := vals[name]
		p := path.Copy().GetAttr(name)
		if a, ok := b.Attributes[name]; ok {
			// Converting each attribute alone gives errors a precise path.
			if _, err := convert.Convert(av, a.Type); err != nil {
				diags.Append(pathDiag(p.NewError(err), "Invalid config"))
			}
			continue
		}
		nb, ok := b.Blocks[name]
		if !ok {
			diags.Append(Diagnostic{Severity: Error, Summary: fmt.Sprintf("Unsupported argument %q", name),
				Detail: "This action accepts: " + strings.Join(b.names(), ", ") + ".", Attribute: p})
			continue
		}
		if nb.Nesting == NestingSingle {
			checkNames(&nb.Block, av, p, diags)
			continue
		}
		av, _ = av.Unmark()
		if av.IsKnown() && !av.IsNull() && av.CanIterateElements() {
			for it := av.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				checkNames(&nb.Block, ev, p.Copy().Index(k), diags)
			}
		}
	}
}

// checkBlock checks what types cannot say (required attributes set, nested
// block counts) and collects the paths of sensitive attributes.
func checkBlock(b *Block, v cty.Value, path cty.Path, diags *Diagnostics, sensitive *[]cty.PathValueMarks) {
	v, _ = v.Unmark()
	if !v.IsKnown() || v.IsNull() {
		return
	}
	for name, a := range b.Attributes {
		if !a.Required && !a.Sensitive {
			continue
		}
		p := path.Copy().GetAttr(name)
		if av := v.GetAttr(name); a.Required && av.IsKnown() && av.IsNull() {
			diags.Append(Diagnostic{Severity: Error, Summary: fmt.Sprintf("Missing required argument %q", name),
				Detail: describe(name, a), Attribute: p})
		}
		if a.Sensitive {
			*sensitive = append(*sensitive, cty.PathValueMarks{Path: p, Marks: cty.NewValueMarks(Sensitive)})
		}
	}
	for name, nb := range b.Blocks {
		p := path.Copy().GetAttr(name)
		bv, _ := v.GetAttr(name).Unmark()
		if !bv.IsKnown() {
			continue
		}
		if nb.Nesting == NestingSingle {
			if bv.IsNull() && nb.MinItems > 0 {
				diags.Append(Diagnostic{Severity: Error, Summary: fmt.Sprintf("Missing required block %q", name), Attribute: p})
			}
			checkBlock(&nb.Block, bv, p, diags, sensitive)
			continue
		}
		n := 0
		if !bv.IsNull() {
			n = bv.LengthInt()
		}
		if n < nb.MinItems || (nb.MaxItems > 0 && n > nb.MaxItems) {
			diags.Append(Diagnostic{Severity: Error, Summary: fmt.Sprintf("Wrong number of %q blocks", name),
				Detail: fmt.Sprintf("Found %d; %s.", n, countRange(nb.MinItems, nb.MaxItems)), Attribute: p})
		}
		if n == 0 {
			continue
		}
		for it := bv.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			checkBlock(&nb.Block, ev, p.Copy().Index(k), diags, sensitive)
		}
	}
}

// conformOutputs checks an action's outputs against its schema. Outputs left
// out are unknown in a plan and null after apply; sensitive ones are marked.
func conformOutputs(s *ActionSchema, v cty.Value, planned bool) (cty.Value, Diagnostics) {
	var diags Diagnostics
	if v != cty.NilVal && !v.IsMarked() && v.IsKnown() && !v.IsNull() && fits(s.Outputs, v.Type()) && !anySensitive(s.Outputs) {
		return v, nil // every output given, of its type, none to mark
	}
	given := map[string]cty.Value{}
	if v != cty.NilVal && !v.IsNull() {
		uv, _ := v.Unmark()
		if !uv.IsKnown() || !uv.Type().IsObjectType() {
			diags.AddError("Plugin returned invalid outputs",
				fmt.Sprintf("Outputs must be a known object, got %s; this is a bug in the plugin.", uv.Type().FriendlyName()))
			return cty.NilVal, diags
		}
		given = uv.AsValueMap()
	}
	attrs := make(map[string]cty.Value, len(s.Outputs))
	for name, a := range s.Outputs {
		av, ok := given[name]
		delete(given, name)
		switch {
		case !ok && planned:
			av = cty.UnknownVal(a.Type)
		case !ok:
			av = cty.NullVal(a.Type)
		}
		cv, err := convert.Convert(av, a.Type)
		if err != nil {
			diags.AddError(fmt.Sprintf("Plugin returned an invalid output %q", name),
				fmt.Sprintf("%s; this is a bug in the plugin.", err))
			continue
		}
		if a.Sensitive {
			cv = cv.Mark(Sensitive)
		}
		attrs[name] = cv
	}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		diags.AddError(fmt.Sprintf("Plugin returned an undeclared output %q", name),
			"Every output must be in the action's schema; this is a bug in the plugin.")
	}
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	out := cty.ObjectVal(attrs)
	if v != cty.NilVal {
		_, marks := v.UnmarkDeepWithPaths()
		out = out.MarkWithPaths(marks)
	}
	return out, diags
}

func anySensitive(attrs map[string]*Attribute) bool {
	for _, a := range attrs {
		if a.Sensitive {
			return true
		}
	}
	return false
}

func pathDiag(err error, summary string) Diagnostic {
	d := Diagnostic{Severity: Error, Summary: summary, Detail: err.Error()}
	if pe, ok := err.(cty.PathError); ok {
		d.Attribute = pe.Path
		if len(pe.Path) > 0 {
			d.Summary = fmt.Sprintf("Invalid value for %s", FormatPath(pe.Path))
			d.Detail = upperFirst(pe.Error()) + "."
		}
	}
	return d
}

func describe(name string, a *Attribute) string {
	if a.Description == "" {
		return fmt.Sprintf("Set %s (%s).", name, a.Type.FriendlyName())
	}
	return fmt.Sprintf("Set %s (%s): %s", name, a.Type.FriendlyName(), a.Description)
}

func countRange(lo, hi int) string {
	switch {
	case hi == 0:
		return fmt.Sprintf("at least %d expected", lo)
	case lo == hi:
		return fmt.Sprintf("exactly %d expected", lo)
	}
	return fmt.Sprintf("between %d and %d expected", lo, hi)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (b *Block) names() []string {
	names := slices.Sorted(maps.Keys(b.Attributes))
	for _, n := range slices.Sorted(maps.Keys(b.Blocks)) {
		names = append(names, n+" {}")
	}
	return names
}
