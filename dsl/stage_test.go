package dsl

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// A step's Config is a copy of its body without the meta-arguments; it
// must read exactly as PartialContent's remainder did, which hides the
// schema's attributes and blocks and nothing else: an attribute named like
// a meta block (retry = 3) or a block named like a meta attribute
// (timeout { }) stays for the action's schema to accept or refuse.
func TestConfigReadsAsTheBodyWithoutItsMetaArguments(t *testing.T) {
	schema := &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "command", Required: true}, {Name: "retry"}, {Name: "args"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "config"}, {Type: "timeout"}, {Type: "env"}},
	}
	for name, src := range map[string]string{
		"meta and config": `action = std.exec
command = "echo"
depends_on = [step.a]
when = true
retry {
  attempts = 2
}
env {
  A = "1"
}`,
		"only meta":               `action = std.noop`,
		"named like a meta block": "action = std.exec\ncommand = \"x\"\nretry = 3",
		"block named like a meta attribute": `action = std.exec
command = "x"
timeout {}
approval {
  message = "go"
}`,
		"unknown":   "action = std.exec\nbogus = 1\nconfig {\n  command = \"x\"\n}",
		"no config": "for_each = {}\naction = std.exec",
	} {
		file, diags := hclsyntax.ParseConfig([]byte(src), name+".hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags.Error())
		}
		_, rest, _ := file.Body.PartialContent(metaSchema)
		config := withoutMeta(file.Body.(*hclsyntax.Body))
		if want, got := readBody(rest, schema), readBody(config, schema); got != want {
			t.Errorf("%s: the config reads\n%s\nwant, as the remainder\n%s", name, got, want)
		}
	}
}

// readBody is what a decode sees of body (DecodeBody asks for its
// content; nothing reads a step's config with JustAttributes, whose
// hclsyntax form names a hidden block as unexpected, see withoutBackends),
// with every diagnostic and where it points.
func readBody(body hcl.Body, schema *hcl.BodySchema) string {
	var out []string
	content, diags := body.Content(schema)
	for name, attr := range content.Attributes {
		out = append(out, fmt.Sprintf("attribute %s at %v", name, attr.Range))
	}
	for _, b := range content.Blocks {
		out = append(out, fmt.Sprintf("block %s at %v", b.Type, b.DefRange))
	}
	for _, d := range diags {
		out = append(out, fmt.Sprintf("%s: %s at %v", d.Summary, d.Detail, d.Subject))
	}
	out = append(out, fmt.Sprintf("missing item at %v", body.MissingItemRange()))
	slices.Sort(out)
	return strings.Join(out, "\n")
}
