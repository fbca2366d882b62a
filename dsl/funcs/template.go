package funcs

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// MakeTemplateFileFunc returns templatefile(path, vars): the file at path
// rendered as an HCL template with vars as its variables. The template may
// call every function of table() except templatefile itself.
func MakeTemplateFileFunc(baseDir string, reads *Reads, table func() map[string]function.Function) function.Function {
	params := []function.Parameter{
		{Name: "path", Type: cty.String},
		{Name: "vars", Type: cty.DynamicPseudoType},
	}
	render := func(args []cty.Value) (cty.Value, error) {
		expr, err := loadTemplate(baseDir, reads, args[0].AsString())
		if err != nil {
			return cty.DynamicVal, err
		}
		ctx, err := templateContext(expr, args[1], table(), params)
		if err != nil {
			return cty.DynamicVal, err
		}
		v, diags := expr.Value(ctx)
		if diags.HasErrors() {
			return cty.DynamicVal, templateError{diags}
		}
		return v, nil
	}
	return function.New(&function.Spec{
		Description: "Renders the file at the given path as a template, with the given map as its variables.",
		Params:      params,
		// A template of a single interpolation, "${x}", yields x with its
		// own type, so the type is known only by rendering.
		Type: func(args []cty.Value) (cty.Type, error) {
			if !args[0].IsKnown() || !args[1].IsKnown() {
				return cty.DynamicPseudoType, nil
			}
			v, err := render(args)
			return v.Type(), err
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return render(args)
		},
	})
}

func loadTemplate(baseDir string, reads *Reads, path string) (hclsyntax.Expression, error) {
	src, err := reads.readFile(baseDir, path)
	if err != nil {
		return nil, function.NewArgError(0, err)
	}
	if !utf8.Valid(src) {
		return nil, function.NewArgErrorf(0, "the template %q is not valid UTF-8 text", path)
	}
	expr, diags := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, templateError{diags}
	}
	return expr, nil
}

// templateContext checks that vars defines every variable the template uses,
// so a typo is reported with its position in the template.
func templateContext(expr hclsyntax.Expression, vars cty.Value, table map[string]function.Function,
	params []function.Parameter) (*hcl.EvalContext, error) {
	if ty := vars.Type(); !(ty.IsMapType() || ty.IsObjectType()) {
		return nil, function.NewArgErrorf(1, "vars must be a map or an object, not %s", ty.FriendlyName())
	}
	variables := vars.AsValueMap()
	for name := range variables {
		if !hclsyntax.ValidIdentifier(name) {
			return nil, function.NewArgErrorf(1,
				"vars key %q is not a valid identifier, so the template cannot refer to it", name)
		}
	}
	for _, tr := range expr.Variables() {
		if _, ok := variables[tr.RootName()]; !ok {
			return nil, function.NewArgErrorf(1, "vars has no key %q, which the template uses at %s",
				tr.RootName(), tr.SourceRange())
		}
	}
	funcs := make(map[string]function.Function, len(table))
	for name, f := range table {
		funcs[name] = f
	}
	funcs["templatefile"] = function.New(&function.Spec{
		Params: params,
		Type: func([]cty.Value) (cty.Type, error) {
			return cty.NilType, errors.New("templatefile cannot be called from inside a template")
		},
	})
	return &hcl.EvalContext{Variables: variables, Functions: funcs}, nil
}

// templateError carries a template's diagnostics (file:line:column inside the
// template). Its message drops the final period, which HCL adds again.
type templateError struct{ diags hcl.Diagnostics }

func (e templateError) Error() string { return strings.TrimSuffix(e.diags.Error(), ".") }
func (e templateError) Unwrap() error { return e.diags }
