package funcs

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// evalContext is what the dsl package builds: the table, and a few variables.
func evalContext() *hcl.EvalContext {
	return &hcl.EvalContext{
		Functions: Table("testdata", nil),
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{
				"image_tag": str("1.4.2"),
				"token":     secret(str("s3cr3t")),
				"pending":   unknown(cty.String),
			}),
			"environments": cty.ObjectVal(map[string]cty.Value{
				"dev":  cty.ObjectVal(map[string]cty.Value{"namespace": str("development")}),
				"prod": cty.ObjectVal(map[string]cty.Value{"namespace": str("production")}),
			}),
		},
	}
}

func eval(t *testing.T, src string) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "pipeline.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %s", src, diags)
	}
	return expr.Value(evalContext())
}

func TestExpressionsThroughHCL(t *testing.T) {
	cases := []struct {
		src  string
		want cty.Value
	}{
		{`templatefile("templates/release-notes.md.tmpl", {
			app = "alpha-members", version = var.image_tag, environments = ["dev", "prod", "qa"],
			hosts = { dev = "dev.members.example.com", prod = "members.example.com" } })`,
			str("# ALPHA-MEMBERS 1.4.2\n\n" +
				"- dev: dev.members.example.com\n- prod: members.example.com\n- qa: no host\n" +
				"Checksum: " + sha256Of(t, "1.4.2")[:8] + "\n")},
		// A template that is a single interpolation keeps the value's type.
		{`templatefile("templates/single.tmpl", { replicas = 3 })`, num(3)},
		{`yamlencode({ replicas = 3, host = "dev.members.example.com", tags = ["a", "b"] })`,
			str("\"host\": \"dev.members.example.com\"\n\"replicas\": 3\n\"tags\":\n- \"a\"\n- \"b\"\n")},
		{`yamldecode(file("values/dev.yaml")).replicas`, num(1)},
		{`try(environments.qa.namespace, environments["qa"], "default")`, str("default")},
		{`try(environments.prod.namespace, "default")`, str("production")},
		{`can(environments.qa)`, cty.False},
		{`alltrue([true, "true"])`, cty.True},
		{`convert([1, 2], list(string))`, strs("1", "2")},
		{`jsondecode(jsonencode({ a = [1, "x"] })).a[1]`, str("x")},
		{`"${var.token}-suffix"`, secret(str("s3cr3t-suffix"))},
		{`nonsensitive(sha256(var.token)) == sha256("s3cr3t")`, cty.True},
		{`length(merge({ a = var.token }, { b = "x" }))`, secret(num(2))},
		{`coalesce(lookup({}, "x", ""), "fallback")`, str("fallback")},
		{`replace("registry.local/app:v1", "/:v([0-9]+)$/", ":$1")`, str("registry.local/app:1")},
	}
	for _, c := range cases {
		got, diags := eval(t, c.src)
		if diags.HasErrors() {
			t.Errorf("%s: %s", c.src, diags)
			continue
		}
		if !got.RawEquals(c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.src, got, c.want)
		}
	}
}

func TestUnknownsThroughHCL(t *testing.T) {
	for _, src := range []string{
		`templatefile("templates/single.tmpl", { replicas = var.pending })`,
		`templatefile("templates/release-notes.md.tmpl", { app = "a", version = var.pending, environments = [], hosts = {} })`,
		`upper(var.pending)`,
		`file(var.pending)`,
	} {
		got, diags := eval(t, src)
		if diags.HasErrors() {
			t.Errorf("%s: %s", src, diags)
		} else if got.IsWhollyKnown() {
			t.Errorf("%s: got %#v, want an unknown value", src, got)
		}
	}
}

// Errors come back as diagnostics that point at the call and say what to do.
func TestErrorsThroughHCL(t *testing.T) {
	cases := []struct {
		src, detail, subject string
	}{
		{`file("x.yaml")`, `no file exists at "x.yaml"`, "pipeline.hcl:1,7-13"},
		{`templatefile("templates/typo.tmpl", { name = "x" })`,
			`vars has no key "nmae", which the template uses at templates/typo.tmpl:1,9-13`, "pipeline.hcl:1,37-38"},
		{`templatefile("templates/recursive.tmpl", {})`,
			"templatefile cannot be called from inside a template", ""},
		{`templatefile("templates/broken.tmpl", { name = "x" })`, "templates/broken.tmpl:1", ""},
		{`templatefile("templates/missing.tmpl", {})`, `no file exists at "templates/missing.tmpl"`, ""},
		{`templatefile("templates/single.tmpl", "replicas")`, "vars must be a map or an object, not string", ""},
		{`templatefile("templates/single.tmpl", { "not an identifier" = 1, replicas = 1 })`,
			`vars key "not an identifier" is not a valid identifier`, ""},
		{`sum([])`, "cannot sum an empty list", ""},
		{`one(["a", "b"])`, "either zero or one elements", ""},
	}
	for _, c := range cases {
		_, diags := eval(t, c.src)
		if !diags.HasErrors() {
			t.Errorf("%s: no error", c.src)
			continue
		}
		d := diags[0]
		if !strings.Contains(d.Detail, c.detail) {
			t.Errorf("%s: detail %q does not contain %q", c.src, d.Detail, c.detail)
		}
		if c.subject != "" && d.Subject.String() != c.subject {
			t.Errorf("%s: error points at %s, want %s", c.src, d.Subject, c.subject)
		}
	}
}
