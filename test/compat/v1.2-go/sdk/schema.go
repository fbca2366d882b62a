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

// HCLSpec is the hcldec specification of the block, for hosts that decode a
// step's HCL body against the plugin's schema.
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
			spec[name] = &hcldec.BlockMapSpec{TypeName: name, LabelNames: []string{"key"}, Nested: inner}
		default:
			spec[name] = &hcldec.BlockSpec{TypeName: name, Nested: inner, Required: nb.MinItems > 0}
		}
	}
	return spec
}

// Validate reports what is wrong with a schema an author wrote: Serve
// refuses to start a plugin whose schema is invalid.
func (s *ActionSchema) Validate() error {
	if err := s.Block.validate(""); err != nil {
		return err
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
