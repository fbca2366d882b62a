package sdk

import (
	"fmt"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// The plugin side's half of the wire format for schemas and diagnostics;
// sdk/client decodes them.

func encodeSchema(s *Schema, validators map[string]bool) (*pb.GetSchema_Response, error) {
	out := &pb.GetSchema_Response{Name: s.Name, Version: s.Version, Actions: map[string]*pb.Schema_Action{},
		Capabilities: &pb.Capabilities{Cancel: s.Capabilities.Cancel, PlanReadPaths: s.Capabilities.PlanReadPaths,
			PlanStream: s.Capabilities.PlanStream, ApplyStream: s.Capabilities.ApplyStream}}
	if s.Settings != nil {
		settings, err := encodeBlock(s.Settings)
		if err != nil {
			return nil, fmt.Errorf("plugin settings: %w", err)
		}
		out.PluginSettings = settings
	}
	for name, a := range s.Actions {
		block, err := encodeBlock(&a.Block)
		if err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		outputs, err := encodeAttrs(a.Outputs)
		if err != nil {
			return nil, fmt.Errorf("action %s outputs: %w", name, err)
		}
		out.Actions[name] = &pb.Schema_Action{Description: a.Description, Block: block, Outputs: outputs,
			HasValidateConfig: validators[name], AlwaysApply: a.AlwaysApply}
	}
	return out, nil
}

func encodeBlock(b *Block) (*pb.Schema_Block, error) {
	attrs, err := encodeAttrs(b.Attributes)
	if err != nil {
		return nil, err
	}
	out := &pb.Schema_Block{Attributes: attrs, Blocks: map[string]*pb.Schema_NestedBlock{}}
	for name, nb := range b.Blocks {
		inner, err := encodeBlock(&nb.Block)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		out.Blocks[name] = &pb.Schema_NestedBlock{
			Nesting:  pb.Schema_NestedBlock_Nesting(nb.Nesting),
			Block:    inner,
			MinItems: int64(nb.MinItems),
			MaxItems: int64(nb.MaxItems),
		}
	}
	return out, nil
}

func encodeAttrs(attrs map[string]*Attribute) (map[string]*pb.Schema_Attribute, error) {
	out := make(map[string]*pb.Schema_Attribute, len(attrs))
	for name, a := range attrs {
		ty, err := wire.EncodeType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[name] = &pb.Schema_Attribute{TypeJson: ty, Required: a.Required, Sensitive: a.Sensitive, Description: a.Description}
	}
	return out, nil
}

func encodeDiags(diags Diagnostics) []*pb.Diagnostic {
	out := make([]*pb.Diagnostic, 0, len(diags))
	for _, d := range diags {
		out = append(out, &pb.Diagnostic{
			Severity:  pb.Diagnostic_Severity(d.Severity),
			Summary:   d.Summary,
			Detail:    d.Detail,
			Attribute: wire.EncodePath(d.Attribute),
		})
	}
	return out
}
