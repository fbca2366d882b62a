package sdk

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
)

// Schema is what a plugin publishes: its name, version, settings and actions.
type Schema struct {
	Name, Version string
	Settings      *Block // the plugin block's attributes; nil: none
	Actions       map[string]*ActionSchema
	// Capabilities is what the plugin supports beyond the original
	// protocol. The SDK declares them for every plugin it serves (authors
	// leave it alone); the host reads them from GetSchema.
	Capabilities Capabilities
}

// Capabilities are the optional parts of the protocol a plugin supports
// (docs/plugin-protocol.md). A host makes an optional call, or trusts an
// optional field, only when the plugin declares it.
type Capabilities struct {
	// Declared: the plugin sent its capabilities. A plugin older than them
	// did not: the host tries an optional call and takes Unimplemented as
	// "not supported".
	Declared bool
	// Cancel: the plugin cancels one Apply on request and ends its stream
	// with the result once it has cleaned up.
	Cancel bool
	// PlanReadPaths: Plan responses list the files the plan read
	// (PlanResponse.ReadPaths), an empty list meaning none.
	PlanReadPaths bool
	// PlanStream: the plugin plans many steps over one PlanStream call,
	// which the host then uses instead of a Plan call per step.
	PlanStream bool
	// ApplyStream: the same for Apply (one ApplyStream call instead of an
	// Apply call per step).
	ApplyStream bool
}

// ActionSchema describes one action: the config a step gives it and the
// outputs it returns (step.<name>.<output>).
type ActionSchema struct {
	Description string
	Block       Block // the config
	Outputs     map[string]*Attribute
	// HasValidateConfig is set by the SDK (from GetSchema) when the action
	// implements ActionWithValidateConfig; authors leave it alone.
	HasValidateConfig bool
	// AlwaysApply: the host calls Apply even when Plan said PlanNoChange.
	// Without it a step planned as unchanged is not applied at all (as
	// Terraform leaves an unchanged resource alone); set it for actions
	// whose Apply must run every time, such as a health check that also
	// plans "no change".
	AlwaysApply bool
}

// Block is a set of attributes and nested blocks: a step's config body.
type Block struct {
	Attributes map[string]*Attribute
	Blocks     map[string]*NestedBlock
}

// Attribute is one argument (or output). !Required means optional: it is
// null when not set. Sensitive values are marked with Sensitive on both sides
// of the wire and redacted by the host.
type Attribute struct {
	Type        cty.Type
	Required    bool
	Sensitive   bool
	Description string
}

// Nesting says how often a nested block may appear and how it is keyed.
type Nesting int

const (
	NestingSingle Nesting = iota + 1 // at most one block: an object (null when absent)
	NestingList                      // zero or more blocks: a list of objects
	NestingMap                       // blocks with one label: a map of objects by label
)

// MapBlockLabel is the name of a NestingMap block's one label: pipectl
// decodes `hook "deploy" { ... }` as the map key "deploy" under it.
const MapBlockLabel = "name"

func (n Nesting) String() string {
	switch n {
	case NestingSingle:
		return "single"
	case NestingList:
		return "list"
	case NestingMap:
		return "map"
	}
	return fmt.Sprintf("Nesting(%d)", int(n))
}

// NestedBlock is a block inside a config: `retry { ... }`. MinItems and
// MaxItems bound NestingList and NestingMap (0 = no bound).
type NestedBlock struct {
	Nesting            Nesting
	Block              Block
	MinItems, MaxItems int
}

// ImpliedType is the object type of a config that conforms to the block.
// Optional attributes and nested blocks are optional attributes of the type,
// so cty's convert package fills them in as null.
func (b *Block) ImpliedType() cty.Type {
	attrs := make(map[string]cty.Type, len(b.Attributes)+len(b.Blocks))
	var optional []string
	for name, a := range b.Attributes {
		attrs[name] = a.Type
		if !a.Required {
			optional = append(optional, name)
		}
	}
	for name, nb := range b.Blocks {
		attrs[name] = nb.impliedType()
		optional = append(optional, name)
	}
	return cty.ObjectWithOptionalAttrs(attrs, optional)
}

func (nb *NestedBlock) impliedType() cty.Type {
	inner := nb.Block.ImpliedType()
	switch nb.Nesting {
	case NestingList:
		return cty.List(inner)
	case NestingMap:
		return cty.Map(inner)
	default:
		return inner
	}
}

// OutputType is the object type of the action's outputs.
func (s *ActionSchema) OutputType() cty.Type {
	attrs := make(map[string]cty.Type, len(s.Outputs))
	for name, a := range s.Outputs {
		attrs[name] = a.Type
	}
	return cty.Object(attrs)
}

// HCLSpec is the hcldec specification of the block, for hosts and tests
// that decode a step's HCL body against the plugin's schema (as
// plugintest.DecodeHCL does). A NestingMap block's label is its "name".
// hcldec does not mark sensitive attributes: the SDK's server does, on
// arrival.
func (b *Block) HCLSpec() hcldec.Spec {
	spec := hcldec.ObjectSpec{}
	for name, a := range b.Attributes {
		spec[name] = &hcldec.AttrSpec{Name: name, Type: a.Type, Required: a.Required}
	}
	for name, nb := range b.Blocks {
		inner := nb.Block.HCLSpec()
		switch nb.Nesting {
		case NestingList:
			spec[name] = &hcldec.BlockListSpec{TypeName: name, Nested: inner, MinItems: nb.MinItems, MaxItems: nb.MaxItems}
		case NestingMap:
			spec[name] = &hcldec.BlockMapSpec{TypeName: name, LabelNames: []string{MapBlockLabel}, Nested: inner}
		default:
			spec[name] = &hcldec.BlockSpec{TypeName: name, Nested: inner, Required: nb.MinItems > 0}
		}
	}
	return spec
}

// StepMetaArguments are the names a step's body reserves for the host:
// its meta-arguments (timeout, when, retry, ...) and the config block that
// sets an old plugin's attribute of the same name. An action's top-level
// attributes and blocks may not use them (ActionSchema.Validate); the
// engine checks that this list is the language's.
var StepMetaArguments = []string{
	"action", "plugin", "depends_on", "when", "for_each", "timeout", "continue_on_error", "retry", "approval", "config",
}

// legacyMetaNames lets a schema use StepMetaArguments, as the SDK did
// before it refused them: only test plugins that stand for such old
// plugins are built so (build tag pipectl_legacy_schemas).
var legacyMetaNames = false

// Validate reports what is wrong with a schema an author wrote: Serve
// refuses to start a plugin whose schema is invalid.
func (s *ActionSchema) Validate() error {
	if err := s.Block.validate(""); err != nil {
		return err
	}
	for _, name := range StepMetaArguments {
		if !legacyMetaNames && s.Block.Attributes[name] != nil || s.Block.Blocks[name] != nil {
			return fmt.Errorf("%q is a step meta-argument of pipectl's language: a step's %s is the host's, so the action could "+
				"never be given its own; name it for what it is (e.g. request_%s)", name, name, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Outputs)) {
		if err := validateAttr("output ", name, s.Outputs[name]); err != nil {
			return err
		}
	}
	return nil
}

func (b *Block) validate(prefix string) error {
	for _, name := range slices.Sorted(maps.Keys(b.Attributes)) {
		if err := validateAttr("attribute "+prefix, name, b.Attributes[name]); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.Blocks)) {
		nb := b.Blocks[name]
		where := "block " + prefix + name
		switch {
		case nb == nil:
			return fmt.Errorf("%s is nil", where)
		case !validName(name):
			return fmt.Errorf("%s: not a valid name (use letters, digits and underscores)", where)
		case b.Attributes[name] != nil:
			return fmt.Errorf("%s: an attribute has the same name", where)
		case nb.Nesting < NestingSingle || nb.Nesting > NestingMap:
			return fmt.Errorf("%s: nesting must be NestingSingle, NestingList or NestingMap", where)
		case nb.MinItems < 0 || nb.MaxItems < 0 || (nb.MaxItems > 0 && nb.MinItems > nb.MaxItems):
			return fmt.Errorf("%s: MinItems %d and MaxItems %d are not a valid range", where, nb.MinItems, nb.MaxItems)
		}
		if err := nb.Block.validate(prefix + name + "."); err != nil {
			return err
		}
	}
	return nil
}

func validateAttr(kind, name string, a *Attribute) error {
	where := kind + name
	switch {
	case a == nil:
		return fmt.Errorf("%s is nil", where)
	case !validName(name):
		return fmt.Errorf("%s: not a valid name (use letters, digits and underscores)", where)
	case a.Type == cty.NilType:
		return fmt.Errorf("%s has no Type (use cty.String, cty.Number, cty.DynamicPseudoType, ...)", where)
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
