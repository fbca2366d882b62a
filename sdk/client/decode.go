package client

import (
	"fmt"

	"github.com/pipectl/pipectl/sdk"
	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// The host side's half of the wire format for schemas, diagnostics and
// events; package sdk encodes them.

func decodeSchema(resp *pb.GetSchema_Response) (*sdk.Schema, error) {
	s := &sdk.Schema{Name: resp.Name, Version: resp.Version, Actions: map[string]*sdk.ActionSchema{}}
	for name, a := range resp.Actions {
		block, err := decodeBlock(a.Block)
		if err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		outputs, err := decodeAttrs(a.Outputs)
		if err != nil {
			return nil, fmt.Errorf("action %s outputs: %w", name, err)
		}
		s.Actions[name] = &sdk.ActionSchema{Description: a.Description, Block: block, Outputs: outputs,
			// A plugin older than capabilities may be older than
			// has_validate_config too (f4c25e7): it may have checks.
			HasValidateConfig: a.HasValidateConfig || resp.Capabilities == nil, AlwaysApply: a.AlwaysApply}
	}
	if c := resp.Capabilities; c != nil {
		s.Capabilities = sdk.Capabilities{Declared: true, Cancel: c.Cancel, PlanReadPaths: c.PlanReadPaths, PlanStream: c.PlanStream,
			ApplyStream: c.ApplyStream}
	}
	if resp.PluginSettings != nil {
		settings, err := decodeBlock(resp.PluginSettings)
		if err != nil {
			return nil, fmt.Errorf("plugin settings: %w", err)
		}
		s.Settings = &settings
	}
	return s, nil
}

func decodeBlock(b *pb.Schema_Block) (sdk.Block, error) {
	attrs, err := decodeAttrs(b.GetAttributes())
	if err != nil {
		return sdk.Block{}, err
	}
	out := sdk.Block{Attributes: attrs, Blocks: map[string]*sdk.NestedBlock{}}
	for name, nb := range b.GetBlocks() {
		inner, err := decodeBlock(nb.Block)
		if err != nil {
			return sdk.Block{}, fmt.Errorf("block %s: %w", name, err)
		}
		nesting := sdk.Nesting(nb.Nesting)
		if nesting < sdk.NestingSingle || nesting > sdk.NestingMap {
			return sdk.Block{}, fmt.Errorf("block %s: unknown nesting %d", name, nb.Nesting)
		}
		out.Blocks[name] = &sdk.NestedBlock{Nesting: nesting, Block: inner,
			MinItems: int(nb.MinItems), MaxItems: int(nb.MaxItems)}
	}
	return out, nil
}

func decodeAttrs(attrs map[string]*pb.Schema_Attribute) (map[string]*sdk.Attribute, error) {
	out := make(map[string]*sdk.Attribute, len(attrs))
	for name, a := range attrs {
		ty, err := wire.DecodeType(a.TypeJson)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: type: %w", name, err)
		}
		out[name] = &sdk.Attribute{Type: ty, Required: a.Required, Sensitive: a.Sensitive, Description: a.Description}
	}
	return out, nil
}

func decodeDiags(in []*pb.Diagnostic) (sdk.Diagnostics, error) {
	var out sdk.Diagnostics
	for _, d := range in {
		path, err := wire.DecodePath(d.Attribute)
		if err != nil {
			return nil, fmt.Errorf("diagnostic %q: %w", d.Summary, err)
		}
		sev := sdk.Severity(d.Severity)
		if sev != sdk.Warning {
			sev = sdk.Error // an unknown severity is not to be ignored
		}
		out = append(out, sdk.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Attribute: path})
	}
	return out, nil
}

func decodeEvent(msg *pb.Apply_Event) (Event, bool) {
	switch e := msg.GetEvent().(type) {
	case *pb.Apply_Event_Log:
		return Event{Kind: EventLog, Stream: e.Log.GetStream(), Line: e.Log.GetLine()}, true
	case *pb.Apply_Event_Progress:
		return Event{Kind: EventProgress, Fraction: e.Progress.GetFraction(), Message: e.Progress.GetMessage()}, true
	case *pb.Apply_Event_Artifact:
		a := e.Artifact
		return Event{Kind: EventArtifact, Artifact: &Artifact{Name: a.GetName(), MediaType: a.GetMediaType(), Data: a.GetData()}}, true
	}
	return Event{}, false // an event kind from a newer protocol minor: skip it
}
