package dsl

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

const basePipeline = `
pipeline "p" {}
stage "s" {
  step "a" {
    action = std.exec
  }
}
`

// Later sources win: default < PIPECTL_VAR_* < var files (in order) < -var.
func TestVariableSourcesPrecedence(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": basePipeline + `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
`,
		"one.vars": "c = \"file one\"\nd = \"file one\"\ne = \"file one\"\n",
		"two.vars": "e = \"file two\"\n",
	})
	cfg, diags := Load(dir)
	requireNoDiags(t, cfg, diags)
	env := map[string]string{"PIPECTL_VAR_b": "env", "PIPECTL_VAR_c": "env", "PIPECTL_VAR_d": "env"}
	scope, diags := cfg.Bind(Inputs{
		Vars:     map[string]string{"d": "flag"},
		VarFiles: []string{dir + "/one.vars", dir + "/two.vars"},
		Getenv:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	requireNoDiags(t, cfg, diags)
	want := map[string]string{"a": "default", "b": "env", "c": "file one", "d": "flag", "e": "file two"}
	for name, w := range want {
		if got := scope.Vars[name].AsString(); got != w {
			t.Errorf("var.%s = %q, want %q", name, got, w)
		}
	}
}

// Without a Getenv, Bind reads the process environment.
func TestVariableFromProcessEnvironment(t *testing.T) {
	t.Setenv("PIPECTL_VAR_region", "eu-west-1")
	cfg := mustLoad(t, basePipeline+`variable "region" { type = string }`)
	scope, diags := cfg.Bind(Inputs{})
	requireNoDiags(t, cfg, diags)
	if got := scope.Vars["region"].AsString(); got != "eu-west-1" {
		t.Errorf("var.region = %q", got)
	}
}

// Raw -var strings are read per type, as Terraform does: literally for
// primitives, as HCL for collections; optional attributes get defaults.
func TestVariableRawValuesParsedPerType(t *testing.T) {
	cfg := mustLoad(t, basePipeline+`
variable "replicas" { type = number }
variable "enabled"  { type = bool }
variable "name"     { type = string }
variable "ports"    { type = list(number) }
variable "limits"   { type = object({ cpu = string, memory = optional(string, "128Mi") }) }
variable "anything" {}
`)
	scope, diags := cfg.Bind(Inputs{Getenv: noEnv, Vars: map[string]string{
		"replicas": "3", "enabled": "true", "name": "[not a list]", "ports": "[80, 443]",
		"limits": `{ cpu = "1" }`, "anything": "{ a = 1 }",
	}})
	requireNoDiags(t, cfg, diags)
	checks := map[string]cty.Value{
		"replicas": cty.NumberIntVal(3),
		"enabled":  cty.True,
		"name":     cty.StringVal("[not a list]"),
		"ports":    cty.ListVal([]cty.Value{cty.NumberIntVal(80), cty.NumberIntVal(443)}),
		"limits":   cty.ObjectVal(map[string]cty.Value{"cpu": cty.StringVal("1"), "memory": cty.StringVal("128Mi")}),
		"anything": cty.StringVal("{ a = 1 }"),
	}
	for name, want := range checks {
		if got := scope.Vars[name]; !got.RawEquals(want) {
			t.Errorf("var.%s = %#v, want %#v", name, got, want)
		}
	}
}

func TestVariableErrors(t *testing.T) {
	cfg := mustLoad(t, basePipeline+`
variable "replicas" { type = number }
variable "tag" {}
`)
	_, diags := cfg.Bind(Inputs{Getenv: noEnv, Vars: map[string]string{"replicas": "three", "tga": "x"}})
	wantDiag(t, diags, "Invalid value for variable", `a number is required`)
	wantDiag(t, diags, "Value for undeclared variable", `Did you mean "tag"?`)
	wantDiag(t, diags, "No value for required variable", "PIPECTL_VAR_tag")
}

func TestVarFileUndeclaredVariableIsAWarning(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": basePipeline + `variable "tag" { default = "x" }`, "v.vars": "tga = 1\n"})
	cfg, _ := Load(dir)
	_, diags := cfg.Bind(Inputs{Getenv: noEnv, VarFiles: []string{dir + "/v.vars"}})
	if diags.HasErrors() || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Detail, `Did you mean "tag"?`) {
		t.Fatalf("want one warning with a suggestion, got:\n%s", render(cfg, diags))
	}
}

func TestValidationRules(t *testing.T) {
	cfg := mustLoad(t, basePipeline+`
variable "replicas" {
  type = number
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 20
    error_message = "Between 1 and 20 replicas, not ${var.replicas}."
  }
}
`)
	_, diags := cfg.Bind(Inputs{Getenv: noEnv, Vars: map[string]string{"replicas": "3"}})
	requireNoDiags(t, cfg, diags)

	_, diags = cfg.Bind(Inputs{Getenv: noEnv, Vars: map[string]string{"replicas": "30"}})
	d := wantDiag(t, diags, "Invalid value for variable", "Between 1 and 20 replicas, not 30.")
	if d != nil && (d.Subject == nil || d.Subject.Start.Line != 12) {
		t.Errorf("validation error at %v, want the condition on line 12", d.Subject)
	}
}

// Sensitive variables are marked, and the mark follows the value into
// locals and step configurations.
func TestSensitiveVariablesAreMarked(t *testing.T) {
	cfg := mustLoad(t, `
pipeline "p" {}
variable "token" {
  sensitive = true
  default   = "s3cr3t"
}
variable "user" { default = "bob" }
locals { auth = "${var.user}:${var.token}" }
stage "s" {
  step "a" {
    action = std.webhook
    header = local.auth
    user   = var.user
  }
}
`)
	scope, diags := cfg.Bind(Inputs{Getenv: noEnv})
	requireNoDiags(t, cfg, diags)
	if !scope.Vars["token"].HasMark(SensitiveMark) || scope.Vars["user"].IsMarked() {
		t.Errorf("marks: token %#v, user %#v", scope.Vars["token"], scope.Vars["user"])
	}
	if !scope.Locals["auth"].HasMark(SensitiveMark) {
		t.Errorf("local.auth lost the mark: %#v", scope.Locals["auth"])
	}
	st := cfg.Step("a")
	val, diags := DecodeBody(st.Config, &BlockSchema{Attributes: map[string]*AttributeSchema{
		"header": {Type: cty.String}, "user": {Type: cty.String},
	}}, scope.StepEvalContext(st, nil, nil))
	requireNoDiags(t, cfg, diags)
	if !val.GetAttr("header").HasMark(SensitiveMark) || val.GetAttr("user").IsMarked() {
		t.Errorf("decoded %#v", val)
	}
}

// Locals evaluate in dependency order, whatever their names or blocks.
func TestLocalsDependencyOrder(t *testing.T) {
	cfg := mustLoad(t, basePipeline+`
variable "app" { default = "members" }
locals {
  a = "${local.b}.a"
  c = "${var.app}.c"
}
locals {
  b = "${local.c}.b"
  d = [for x in [local.a, local.b] : upper(x)]
}
`)
	scope, diags := cfg.Bind(Inputs{Getenv: noEnv})
	requireNoDiags(t, cfg, diags)
	if got := scope.Locals["a"].AsString(); got != "members.c.b.a" {
		t.Errorf("local.a = %q", got)
	}
	if got := scope.Locals["d"].Index(cty.NumberIntVal(1)).AsString(); got != "MEMBERS.C.B" {
		t.Errorf("local.d[1] = %q", got)
	}
}

func TestEnvironmentSelection(t *testing.T) {
	cfg := mustLoad(t, basePipeline+`
variable "domain" { default = "example.com" }
environment "dev"  {
  namespace = "development"
  host      = "dev.${var.domain}"
}
environment "prod" {
  namespace   = "production"
  host        = var.domain
  autoscaling = { min = 3, max = 20 }
}
locals { url = "https://${env.host}/${pipeline.environment}" }
`)
	scope, diags := cfg.Bind(Inputs{Environment: "prod", Getenv: noEnv})
	requireNoDiags(t, cfg, diags)
	if got := scope.Locals["url"].AsString(); got != "https://example.com/prod" {
		t.Errorf("local.url = %q", got)
	}
	if got := scope.Env.GetAttr("autoscaling").GetAttr("max"); !got.RawEquals(cty.NumberIntVal(20)) {
		t.Errorf("env.autoscaling.max = %#v", got)
	}
	if scope.Environment != "prod" {
		t.Errorf("Environment = %q", scope.Environment)
	}

	_, diags = cfg.Bind(Inputs{Getenv: noEnv})
	wantDiag(t, diags, "No environment selected", "dev, prod")
	_, diags = cfg.Bind(Inputs{Environment: "stagign", Getenv: noEnv})
	wantDiag(t, diags, "Unknown environment", "dev, prod")
}

// wantDiag asserts an error with this summary whose detail contains detail,
// and returns it.
func wantDiag(t *testing.T, diags hcl.Diagnostics, summary, detail string) *hcl.Diagnostic {
	t.Helper()
	for _, d := range diags {
		if d.Summary == summary && strings.Contains(d.Detail, detail) {
			return d
		}
	}
	t.Errorf("no %q diagnostic containing %q in:\n%s", summary, detail, listDiags(diags))
	return nil
}

// Without a valid environment, the one error says so: expressions using
// env.* do not add errors of their own.
func TestNoEnvironmentDoesNotCascade(t *testing.T) {
	cfg := mustLoad(t, basePipeline+`
environment "dev" { host = "dev.example.com" }
locals { url = "https://${env.host}/${pipeline.environment}" }
`)
	_, diags := cfg.Bind(Inputs{Environment: "qa", Getenv: noEnv})
	if len(diags) != 1 || diags[0].Summary != "Unknown environment" {
		t.Errorf("want only the unknown environment error, got:\n%s", listDiags(diags))
	}
}

// With AllowUnset (validate), a required variable without a value is
// unknown and keeps its type and sensitivity; without it, an error.
func TestAllowUnsetMakesMissingVariablesUnknown(t *testing.T) {
	cfg := mustLoad(t, basePipeline+`
variable "tag" {
  type = string
  validation {
    condition     = var.tag != "latest"
    error_message = "no latest"
  }
}
variable "token" {
  type      = string
  sensitive = true
}
locals {
  image = "app:${var.tag}"
}`)
	noEnv := func(string) (string, bool) { return "", false }
	if _, diags := cfg.Bind(Inputs{Getenv: noEnv}); !diags.HasErrors() {
		t.Fatal("a missing required variable was accepted without AllowUnset")
	}
	scope, diags := cfg.Bind(Inputs{Getenv: noEnv, AllowUnset: true})
	requireNoDiags(t, cfg, diags)
	if tag := scope.Vars["tag"]; tag.IsKnown() || tag.Type() != cty.String {
		t.Errorf("var.tag = %#v, want an unknown string", tag)
	}
	if !scope.Vars["token"].HasMark(SensitiveMark) {
		t.Error("the unknown sensitive variable lost its mark")
	}
	if scope.Locals["image"].IsKnown() {
		t.Error("a local built from an unknown variable is known")
	}
}
