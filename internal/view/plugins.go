package view

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/sdk"
)

// PluginSchemaView is what `pipectl plugins show` reports: a plugin's
// settings, and each action's attributes, nested blocks and outputs, from
// the plugin's own schema (Terraform's `providers schema`).
type PluginSchemaView interface {
	// Show shows the schema of one action, or of the whole plugin when
	// action is "".
	Show(s *sdk.Schema, action string)
}

var (
	_ PluginSchemaView = (*PluginSchemaHuman)(nil)
	_ PluginSchemaView = (*PluginSchemaJSON)(nil)
)

// NewPluginSchema picks the view.
func NewPluginSchema(base Base) PluginSchemaView {
	if base.JSON {
		return &PluginSchemaJSON{base}
	}
	return &PluginSchemaHuman{base}
}

// PluginSchemaJSON is the schema as one JSON document (not JSON lines,
// like Terraform's providers schema -json).
type PluginSchemaJSON struct{ Base }

// Show writes the document.
func (v *PluginSchemaJSON) Show(s *sdk.Schema, action string) {
	v.writeJSON(schemaJSON(s, shownActions(s, action), action == ""))
}

// shownActions are the actions Show shows, sorted.
func shownActions(s *sdk.Schema, action string) []string {
	if action != "" {
		return []string{action}
	}
	return slices.Sorted(maps.Keys(s.Actions))
}

// PluginSchemaHuman is the schema for people.
type PluginSchemaHuman struct{ Base }

// Show prints the schema.
func (v *PluginSchemaHuman) Show(s *sdk.Schema, action string) {
	actions := shownActions(s, action)
	w := &v.Streams
	if action == "" {
		fmt.Fprintf(w.Out, "Plugin %s %s\n", s.Name, s.Version)
		if s.Settings != nil && (len(s.Settings.Attributes) > 0 || len(s.Settings.Blocks) > 0) {
			fmt.Fprintf(w.Out, "\nSettings (plugin %q { ... }):\n", s.Name)
			writeBlock(w.Out, s.Settings, "  ")
		} else {
			fmt.Fprintf(w.Out, "\nNo settings.\n")
		}
	}
	for i, name := range actions {
		a := s.Actions[name]
		if i > 0 || action == "" {
			fmt.Fprintln(w.Out)
		}
		fmt.Fprintf(w.Out, "Action %s.%s\n", s.Name, name)
		if a.Description != "" {
			fmt.Fprintf(w.Out, "  %s\n", a.Description)
		}
		fmt.Fprintf(w.Out, "\n  Arguments:\n")
		if len(a.Block.Attributes)+len(a.Block.Blocks) == 0 {
			fmt.Fprintf(w.Out, "    (none)\n")
		}
		writeBlock(w.Out, &a.Block, "    ")
		fmt.Fprintf(w.Out, "\n  Outputs (step.<name>.<output>):\n")
		if len(a.Outputs) == 0 {
			fmt.Fprintf(w.Out, "    (none)\n")
		}
		for _, o := range slices.Sorted(maps.Keys(a.Outputs)) {
			writeAttr(w.Out, o, a.Outputs[o], "    ", false)
		}
	}
}

func writeBlock(w io.Writer, b *sdk.Block, indent string) {
	for _, name := range slices.Sorted(maps.Keys(b.Attributes)) {
		writeAttr(w, name, b.Attributes[name], indent, true)
	}
	for _, name := range slices.Sorted(maps.Keys(b.Blocks)) {
		nb := b.Blocks[name]
		fmt.Fprintf(w, "%s%s { ... }  (block, %s)\n", indent, name, nestingText(nb))
		writeBlock(w, &nb.Block, indent+"    ")
	}
}

func writeAttr(w io.Writer, name string, a *sdk.Attribute, indent string, argument bool) {
	flags := []string{TypeString(a.Type)}
	if argument {
		flags = append(flags, map[bool]string{true: "required", false: "optional"}[a.Required])
	}
	if a.Sensitive {
		flags = append(flags, "sensitive")
	}
	fmt.Fprintf(w, "%s%s  (%s)\n", indent, name, strings.Join(flags, ", "))
	if a.Description != "" {
		fmt.Fprintf(w, "%s    %s\n", indent, a.Description)
	}
}

// TypeString is a type as a pipeline would write it: string, list(string),
// map(number), any.
func TypeString(ty cty.Type) string { return typeexpr.TypeString(ty) }

// nestingText says how often a block may appear.
func nestingText(nb *sdk.NestedBlock) string {
	var s string
	switch nb.Nesting {
	case sdk.NestingSingle:
		s = "at most one"
		if nb.MinItems > 0 {
			s = "exactly one"
		}
		return s
	case sdk.NestingMap:
		s = "any number, each with a name label"
	default:
		s = "any number"
	}
	switch {
	case nb.MinItems > 0 && nb.MaxItems > 0:
		s += fmt.Sprintf(", %d to %d", nb.MinItems, nb.MaxItems)
	case nb.MinItems > 0:
		s += fmt.Sprintf(", at least %d", nb.MinItems)
	case nb.MaxItems > 0:
		s += fmt.Sprintf(", at most %d", nb.MaxItems)
	}
	return s
}

// The JSON document of `plugins show -json`. Types are cty's JSON type
// encoding ("string", ["list","string"]), as in Terraform's.
type pluginJSON struct {
	FormatVersion string                 `json:"format_version"`
	Name          string                 `json:"name"`
	Version       string                 `json:"version"`
	Settings      *blockJSON             `json:"settings,omitempty"`
	Actions       map[string]*actionJSON `json:"actions"`
}

type actionJSON struct {
	Description       string               `json:"description"`
	Block             *blockJSON           `json:"block"`
	Outputs           map[string]*attrJSON `json:"outputs"`
	HasValidateConfig bool                 `json:"has_validate_config"`
	AlwaysApply       bool                 `json:"always_apply,omitempty"`
}

type blockJSON struct {
	Attributes map[string]*attrJSON   `json:"attributes"`
	Blocks     map[string]*nestedJSON `json:"blocks"`
}

type nestedJSON struct {
	Nesting  string     `json:"nesting"`
	MinItems int        `json:"min_items"`
	MaxItems int        `json:"max_items"`
	Block    *blockJSON `json:"block"`
}

type attrJSON struct {
	Type        json.RawMessage `json:"type"`
	TypeName    string          `json:"type_name"`
	Required    bool            `json:"required,omitempty"`
	Optional    bool            `json:"optional,omitempty"`
	Sensitive   bool            `json:"sensitive"`
	Description string          `json:"description"`
}

func schemaJSON(s *sdk.Schema, actions []string, withSettings bool) pluginJSON {
	out := pluginJSON{FormatVersion: "1", Name: s.Name, Version: s.Version, Actions: map[string]*actionJSON{}}
	if withSettings && s.Settings != nil {
		out.Settings = blockToJSON(s.Settings)
	}
	for _, name := range actions {
		a := s.Actions[name]
		out.Actions[name] = &actionJSON{Description: a.Description, Block: blockToJSON(&a.Block),
			Outputs: attrsToJSON(a.Outputs, false), HasValidateConfig: a.HasValidateConfig, AlwaysApply: a.AlwaysApply}
	}
	return out
}

func blockToJSON(b *sdk.Block) *blockJSON {
	out := &blockJSON{Attributes: attrsToJSON(b.Attributes, true), Blocks: map[string]*nestedJSON{}}
	for name, nb := range b.Blocks {
		out.Blocks[name] = &nestedJSON{Nesting: nb.Nesting.String(), MinItems: nb.MinItems, MaxItems: nb.MaxItems, Block: blockToJSON(&nb.Block)}
	}
	return out
}

func attrsToJSON(attrs map[string]*sdk.Attribute, arguments bool) map[string]*attrJSON {
	out := make(map[string]*attrJSON, len(attrs))
	for name, a := range attrs {
		ty, err := ctyjson.MarshalType(a.Type)
		if err != nil {
			ty = json.RawMessage(`"dynamic"`)
		}
		out[name] = &attrJSON{Type: ty, TypeName: TypeString(a.Type), Sensitive: a.Sensitive, Description: a.Description,
			Required: arguments && a.Required, Optional: arguments && !a.Required}
	}
	return out
}

// PluginMarkdown writes a reference page for a plugin, generated from its
// schema as tfplugindocs generates a provider's: its settings, then every
// action's arguments, nested blocks and outputs. examples maps an action
// (or "plugin" for the settings) to an HCL example shown with it.
func PluginMarkdown(w io.Writer, s *sdk.Schema, examples map[string]string) {
	fmt.Fprintf(w, "# The %s plugin\n\n", s.Name)
	fmt.Fprintf(w, "<!-- Generated from the plugin's schema by `pipectl plugins docs %s`: do not edit by hand. -->\n\n", s.Name)
	actions := slices.Sorted(maps.Keys(s.Actions))
	fmt.Fprintf(w, "Actions: %s.\n\n", strings.Join(mapSlice(actions, func(a string) string {
		return fmt.Sprintf("[`%s.%s`](#%s%s)", s.Name, a, s.Name, a)
	}), ", "))

	fmt.Fprintf(w, "## Settings\n\n")
	if s.Settings == nil || len(s.Settings.Attributes)+len(s.Settings.Blocks) == 0 {
		fmt.Fprintf(w, "The plugin takes no settings: its `plugin \"%s\" {}` block has only the meta-arguments `source`, `version` and `alias`.\n\n", s.Name)
	} else {
		fmt.Fprintf(w, "Attributes of the `plugin \"%s\" { ... }` block, shared by every step of the plugin.\n\n", s.Name)
		writeExample(w, examples["plugin"])
		markdownBlock(w, s.Settings, "###")
	}
	for _, name := range actions {
		a := s.Actions[name]
		fmt.Fprintf(w, "## %s.%s\n\n", s.Name, name)
		if a.Description != "" {
			fmt.Fprintf(w, "%s\n\n", a.Description)
		}
		writeExample(w, examples[name])
		fmt.Fprintf(w, "### Arguments\n\n")
		if len(a.Block.Attributes)+len(a.Block.Blocks) == 0 {
			fmt.Fprintf(w, "None.\n\n")
		}
		markdownBlock(w, &a.Block, "####")
		fmt.Fprintf(w, "### Outputs\n\n")
		if len(a.Outputs) == 0 {
			fmt.Fprintf(w, "None.\n\n")
			continue
		}
		fmt.Fprintf(w, "| Output | Type | Description |\n| --- | --- | --- |\n")
		for _, o := range slices.Sorted(maps.Keys(a.Outputs)) {
			attr := a.Outputs[o]
			desc := attr.Description
			if attr.Sensitive {
				desc = "**Sensitive.** " + desc
			}
			fmt.Fprintf(w, "| `%s` | `%s` | %s |\n", o, TypeString(attr.Type), cell(desc))
		}
		fmt.Fprintln(w)
	}
}

func writeExample(w io.Writer, example string) {
	if example = strings.TrimSpace(example); example != "" {
		fmt.Fprintf(w, "```hcl\n%s\n```\n\n", example)
	}
}

func markdownBlock(w io.Writer, b *sdk.Block, heading string) {
	if len(b.Attributes) > 0 {
		fmt.Fprintf(w, "| Name | Type | | Description |\n| --- | --- | --- | --- |\n")
		for _, name := range slices.Sorted(maps.Keys(b.Attributes)) {
			a := b.Attributes[name]
			flags := map[bool]string{true: "required", false: "optional"}[a.Required]
			if a.Sensitive {
				flags += ", sensitive"
			}
			fmt.Fprintf(w, "| `%s` | `%s` | %s | %s |\n", name, TypeString(a.Type), flags, cell(a.Description))
		}
		fmt.Fprintln(w)
	}
	for _, name := range slices.Sorted(maps.Keys(b.Blocks)) {
		nb := b.Blocks[name]
		fmt.Fprintf(w, "%s Block `%s`\n\n", heading, name)
		fmt.Fprintf(w, "`%s { ... }`: %s.\n\n", name, nestingText(nb))
		markdownBlock(w, &nb.Block, heading+"#")
	}
}

// cell makes text safe in a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
