package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk"
)

// blockSchema converts a plugin's published schema into the one dsl
// decodes against; dsl knows nothing of plugins or the wire.
func blockSchema(b *sdk.Block) *dsl.BlockSchema {
	out := &dsl.BlockSchema{
		Attributes: make(map[string]*dsl.AttributeSchema, len(b.Attributes)),
		Blocks:     make(map[string]*dsl.NestedBlockSchema, len(b.Blocks)),
	}
	for name, a := range b.Attributes {
		out.Attributes[name] = &dsl.AttributeSchema{Type: a.Type, Required: a.Required, Sensitive: a.Sensitive}
	}
	for name, nb := range b.Blocks {
		// The same numbers on both sides (schema_test.go checks); a plugin's
		// schema with another nesting never gets here: the SDK's Serve
		// refuses to start with it.
		out.Blocks[name] = &dsl.NestedBlockSchema{
			Nesting: dsl.Nesting(nb.Nesting), Block: *blockSchema(&nb.Block), MinItems: nb.MinItems, MaxItems: nb.MaxItems,
		}
	}
	return out
}

// actionSchema finds a step's action in its plugin's schema, with a
// diagnostic on the action attribute when the plugin has no such action.
func actionSchema(s *dsl.Step, schema *sdk.Schema) (*sdk.ActionSchema, hcl.Diagnostics) {
	if a, ok := schema.Actions[s.Action.Name]; ok {
		return a, nil
	}
	names := make([]string, 0, len(schema.Actions))
	for n := range schema.Actions {
		names = append(names, n)
	}
	detail := fmt.Sprintf("Plugin %q (version %s) has no action %q.", schema.Name, schema.Version, s.Action.Name)
	if sug := dsl.Suggest(s.Action.Name, names, s.Action.Plugin+"."); sug != "" {
		detail += sug
	} else {
		detail += fmt.Sprintf(" Its actions are: %s.", joinSorted(names))
	}
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Unknown action",
		Detail:   detail,
		Subject:  s.Action.Range.Ptr(),
	}}
}

// pluginDiagnostics turns a plugin's diagnostics about a step's config into
// HCL diagnostics on the source range of the attribute they name.
func pluginDiagnostics(s *dsl.Step, diags sdk.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		sev := hcl.DiagError
		if d.Severity == sdk.Warning {
			sev = hcl.DiagWarning
		}
		rng := s.DeclRange
		if len(d.Attribute) > 0 {
			rng = dsl.AttributeRange(s.ConfigSyntax(), d.Attribute)
		}
		out = append(out, &hcl.Diagnostic{
			Severity: sev,
			Summary:  d.Summary,
			Detail:   d.Detail,
			Subject:  rng.Ptr(),
		})
	}
	return out
}

// wholeKnown reports whether a config can be applied: every part known.
func wholeKnown(v cty.Value) bool {
	v, _ = v.UnmarkDeep()
	return v.IsWhollyKnown()
}

func joinSorted(names []string) string {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return strings.Join(sorted, ", ")
}
