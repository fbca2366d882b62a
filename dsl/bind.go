package dsl

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/pipectl/pipectl/dsl/funcs"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// VarEnvPrefix prefixes the environment variables that set pipeline
// variables: PIPECTL_VAR_image_tag sets var.image_tag.
const VarEnvPrefix = "PIPECTL_VAR_"

// Inputs are what a run chooses: the environment and the variable values.
type Inputs struct {
	Environment string            // -env; required when the pipeline declares environments
	Vars        map[string]string // -var NAME=VALUE, raw strings parsed per the variable's type
	VarFiles    []string          // -var-file, HCL (or .json) files of NAME = value
	// Getenv looks up PIPECTL_VAR_<name>; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// Saved are the values of a saved plan being applied, as -var gives
	// them: they stand in for the defaults, and anything given (-var,
	// -var-file, PIPECTL_VAR_*) wins, so that a value that differs from
	// the plan's is seen, and refused, rather than ignored.
	Saved map[string]string
	// AllowUnset makes a required variable without a value unknown instead
	// of an error, as `terraform validate` does: the pipeline can be checked
	// before anyone decides the values.
	AllowUnset bool
}

// Bind resolves a loaded pipeline's values for one run: variables (from
// defaults, then a saved plan's values, then PIPECTL_VAR_* environment
// variables, then var files in order, then -var, the later winning, as in
// Terraform), their types and validation rules, the selected environment and the locals, in dependency
// order. The Scope is never nil: after errors, the values that failed are
// unknown.
//
// Bind adds the var files it reads to c.Files, so that diagnostics about them
// render with source snippets.
func (c *Config) Bind(in Inputs) (*Scope, hcl.Diagnostics) {
	s := &Scope{
		Config: c,
		Vars:   map[string]cty.Value{},
		Env:    cty.EmptyObjectVal,
		Locals: map[string]cty.Value{},
		Reads:  &funcs.Reads{},
	}
	s.Functions = funcs.Table(c.Dir, s.Reads)
	var diags hcl.Diagnostics
	s.Environment, diags = c.selectEnvironment(in.Environment)
	diags = append(diags, s.bindVariables(in)...)
	diags = append(diags, s.validateVariables()...)
	switch {
	case s.Environment != "":
		diags = append(diags, s.bindEnvironment()...)
	case len(c.Environments) > 0:
		s.Env = cty.DynamicVal // none selected (an error): env.* unknown, without more errors
	}
	diags = append(diags, s.bindLocals()...)
	s.base = s.baseContext(true)
	return s, diags
}

// selectEnvironment checks the -env choice. Its errors point at the first
// environment block (or the pipeline block), where the choices are declared.
func (c *Config) selectEnvironment(name string) (string, hcl.Diagnostics) {
	names := c.EnvironmentNames()
	fail := func(summary, detail string) (string, hcl.Diagnostics) {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: c.environmentsRange()}}
	}
	switch {
	case len(names) == 0 && name == "":
		return "", nil
	case len(names) == 0:
		return fail("Unknown environment",
			fmt.Sprintf("Environment %q was selected, but this pipeline declares no environment blocks. Run without -env.", name))
	case name == "":
		return fail("No environment selected",
			fmt.Sprintf("This pipeline declares environments; choose one with -env: %s.", strings.Join(names, ", ")))
	case c.Environments[name] == nil:
		return fail("Unknown environment",
			fmt.Sprintf("This pipeline declares no environment %q.%s Choose one with -env: %s.",
				name, suggest(name, names, ""), strings.Join(names, ", ")))
	}
	return name, nil
}

func (c *Config) environmentsRange() *hcl.Range {
	var first *hcl.Range
	for _, e := range c.Environments {
		r := e.DeclRange
		if first == nil || r.Filename < first.Filename || (r.Filename == first.Filename && r.Start.Byte < first.Start.Byte) {
			first = &r
		}
	}
	if first == nil && c.Pipeline != nil {
		first = c.Pipeline.DeclRange.Ptr()
	}
	return first
}

// rawValue is a variable value before type conversion, with where it came from.
type rawValue struct {
	val     cty.Value
	from    string     // for messages: "the default", "-var", a file...
	subject *hcl.Range // nil for -var and environment variables
}

func (s *Scope) bindVariables(in Inputs) hcl.Diagnostics {
	c := s.Config
	getenv := in.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	raw := map[string]rawValue{}
	s.allowUnset = in.AllowUnset
	var diags hcl.Diagnostics
	for name, v := range c.Variables {
		if v.Default != cty.NilVal {
			raw[name] = rawValue{v.Default, "its default", v.defaultRange.Ptr()}
		}
		if text, ok := in.Saved[name]; ok {
			val, d := parseRawValue(v, text, "the saved plan")
			diags = append(diags, d...)
			raw[name] = rawValue{val, "the saved plan", nil}
		}
		if text, ok := getenv(VarEnvPrefix + name); ok {
			val, d := parseRawValue(v, text, VarEnvPrefix+name)
			diags = append(diags, d...)
			raw[name] = rawValue{val, "environment variable " + VarEnvPrefix + name, nil}
		}
	}
	for _, file := range in.VarFiles {
		diags = append(diags, s.readVarFile(file, raw)...)
	}
	for _, name := range slices.Sorted(maps.Keys(in.Vars)) {
		v := c.Variables[name]
		if v == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("-var sets %q, but the pipeline declares no such variable.%s Declare it with a variable block, or remove the option.",
					name, suggest(name, slices.Sorted(maps.Keys(c.Variables)), "")),
			})
			continue
		}
		val, d := parseRawValue(v, in.Vars[name], "-var "+name)
		diags = append(diags, d...)
		raw[name] = rawValue{val, "-var", nil}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Variables)) {
		if r, ok := raw[name]; ok && c.Variables[name].Sensitive {
			s.RawSecrets = append(s.RawSecrets, r.val)
		}
		s.Vars[name], diags = s.finalValue(c.Variables[name], raw, diags)
	}
	return diags
}

// finalValue converts a variable's value to its type and marks it sensitive.
func (s *Scope) finalValue(v *Variable, raw map[string]rawValue, diags hcl.Diagnostics) (cty.Value, hcl.Diagnostics) {
	r, ok := raw[v.Name]
	if !ok && s.allowUnset {
		unknown := cty.UnknownVal(v.Type)
		if v.Sensitive {
			unknown = unknown.Mark(SensitiveMark)
		}
		return unknown, diags
	}
	if !ok {
		return cty.DynamicVal, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No value for required variable",
			Detail: fmt.Sprintf("Variable %q has no default, so it needs a value: -var %s=..., a -var-file, or the environment variable %s%s.",
				v.Name, v.Name, VarEnvPrefix, v.Name),
			Subject: v.DeclRange.Ptr(),
		})
	}
	val := r.val
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	converted, err := convert.Convert(val, v.Type)
	if err != nil {
		subject := r.subject
		if subject == nil || v.Sensitive {
			// A sensitive value's own line would be quoted in the snippet.
			subject = v.DeclRange.Ptr()
		}
		return cty.DynamicVal, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("The value of variable %q from %s does not match its type %s: %s.",
				v.Name, r.from, typeexpr.TypeString(v.Type), err),
			Subject: subject,
		})
	}
	if v.Sensitive {
		converted = converted.Mark(SensitiveMark)
	}
	return converted, diags
}

// parseRawValue reads a -var or environment variable value as Terraform
// does: literally for primitive and untyped variables, as an HCL expression
// for collections and objects.
func parseRawValue(v *Variable, text, origin string) (cty.Value, hcl.Diagnostics) {
	if v.Type.IsPrimitiveType() || v.Type == cty.DynamicPseudoType {
		return cty.StringVal(text), nil
	}
	diags := CheckNesting([]byte(text), origin, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	expr, diags := hclsyntax.ParseExpression([]byte(text), origin, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return val, nil
}

func (s *Scope) readVarFile(path string, raw map[string]rawValue) hcl.Diagnostics {
	src, err := funcs.ReadRegular(path)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read variables file",
			Detail:   fmt.Sprintf("%s.", err),
		}}
	}
	if diags := CheckNesting(src, path, hcl.InitialPos); diags.HasErrors() {
		return diags
	}
	parser := hclparse.NewParser()
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.EqualFold(filepath.Ext(path), ".json") {
		file, diags = parser.ParseJSON(src, path)
	} else {
		file, diags = parser.ParseHCL(src, path)
	}
	if file == nil || file.Body == nil {
		return diags
	}
	s.Config.Files[path] = file
	if s.Config.VarFiles == nil {
		s.Config.VarFiles = map[string]bool{}
	}
	s.Config.VarFiles[path] = true
	attrs, d := file.Body.JustAttributes()
	diags = append(diags, d...)
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		attr := attrs[name]
		if s.Config.Variables[name] == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("The pipeline declares no variable %q; this value is ignored.%s",
					name, suggest(name, slices.Sorted(maps.Keys(s.Config.Variables)), "")),
				Subject: attr.NameRange.Ptr(),
			})
			continue
		}
		val, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			val = cty.DynamicVal
		}
		raw[name] = rawValue{val, path, attr.Expr.Range().Ptr()}
	}
	return diags
}

// validateVariables runs every variable's validation blocks.
func (s *Scope) validateVariables() hcl.Diagnostics {
	ctx := s.baseContext(false)
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(s.Config.Variables)) {
		v := s.Config.Variables[name]
		if !s.Vars[name].IsWhollyKnown() {
			continue // no value, or an invalid one: already reported
		}
		for _, rule := range v.Validations {
			diags = append(diags, checkRule(v, rule, ctx)...)
		}
	}
	return diags
}

func checkRule(v *Variable, rule *Validation, ctx *hcl.EvalContext) hcl.Diagnostics {
	result, diags := rule.Condition.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	result, _ = result.Unmark()
	result, err := convert.Convert(result, cty.Bool)
	if err != nil || result.IsNull() {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid validation condition",
			Detail:   "The condition of a validation rule must be true or false.",
			Subject:  rule.Condition.Range().Ptr(),
		}}
	}
	if !result.IsKnown() || result.True() {
		return nil
	}
	msg, diags := rule.ErrorMessage.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	msg, _ = msg.Unmark()
	if msg, err = convert.Convert(msg, cty.String); err != nil || msg.IsNull() || !msg.IsKnown() {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid validation error message",
			Detail:   "The error_message of a validation rule must be a string.",
			Subject:  rule.ErrorMessage.Range().Ptr(),
		}}
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for variable",
		Detail:   fmt.Sprintf("%s\n\nThis was checked by the validation rule of variable %q at %s.", msg.AsString(), v.Name, rule.DeclRange),
		Subject:  rule.Condition.Range().Ptr(),
	}}
}

func (s *Scope) bindEnvironment() hcl.Diagnostics {
	e := s.Config.Environments[s.Environment]
	ctx := s.baseContext(false)
	attrs := make(map[string]cty.Value, len(e.Attrs))
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(e.Attrs)) {
		val, d := e.Attrs[name].Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			val = cty.DynamicVal
		}
		attrs[name] = val
	}
	s.Env = cty.ObjectVal(attrs)
	return diags
}
