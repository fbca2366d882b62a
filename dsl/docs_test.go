package dsl

import (
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Every HCL example of the language reference is valid HCL syntax.
func TestLanguageReferenceExamplesParse(t *testing.T) {
	doc, err := os.ReadFile("../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := regexp.MustCompile("(?s)```hcl\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(examples) < 20 {
		t.Fatalf("only %d hcl examples found", len(examples))
	}
	for _, m := range examples {
		if _, diags := hclsyntax.ParseConfig(m[1], "example.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Errorf("example does not parse: %s\n%s", diags.Error(), m[1])
		}
	}
}
