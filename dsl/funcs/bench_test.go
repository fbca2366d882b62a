package funcs

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// BenchmarkTable measures building the table, which the dsl does once per pipeline.
func BenchmarkTable(b *testing.B) {
	for b.Loop() {
		Table("testdata", nil)
	}
}

// BenchmarkTemplateFile measures one templatefile call through HCL (read,
// parse and render, twice: once for the type and once for the value).
func BenchmarkTemplateFile(b *testing.B) {
	expr, diags := hclsyntax.ParseExpression([]byte(`templatefile("templates/release-notes.md.tmpl", {
		app = "alpha-members", version = "1.4.2", environments = ["dev", "staging", "prod"],
		hosts = { dev = "dev.members.example.com", prod = "members.example.com" } })`), "b.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	ctx := &hcl.EvalContext{Functions: Table("testdata", nil)}
	for b.Loop() {
		if _, diags := expr.Value(ctx); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
