package wire

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"github.com/zclconf/go-cty/cty/msgpack"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
)

// EncodeValue turns v into a DynamicValue: msgpack (which keeps unknowns),
// its JSON type, and the paths of its sensitive parts (msgpack drops marks).
// Marks other than sensitive are not transported. cty.NilVal encodes as nil.
func EncodeValue(v cty.Value) (*pb.DynamicValue, error) {
	if v == cty.NilVal {
		return nil, nil
	}
	unmarked, marks := v, []cty.PathValueMarks(nil)
	if containsMarked(v) { // most values hold no secret: spared a copy
		unmarked, marks = v.UnmarkDeepWithPaths()
	}
	ty := unmarked.Type()
	data, err := msgpack.Marshal(unmarked, ty)
	if err != nil {
		return nil, fmt.Errorf("encoding value: %w", err)
	}
	tyJSON, err := encodeType(ty)
	if err != nil {
		return nil, fmt.Errorf("encoding type %s: %w", ty.FriendlyName(), err)
	}
	dv := &pb.DynamicValue{Msgpack: data, TypeJson: tyJSON}
	for _, pm := range marks {
		if _, ok := pm.Marks[SensitiveMark]; ok {
			dv.SensitivePaths = append(dv.SensitivePaths, EncodePath(pm.Path))
		}
	}
	return dv, nil
}

// containsMarked is cty's ContainsMarked without its allocations: a
// value's attributes are read in place, only collections are iterated.
func containsMarked(v cty.Value) bool {
	switch ty := v.Type(); {
	case v.IsMarked():
		return true
	case !v.IsKnown() || v.IsNull():
		return false
	case ty.IsObjectType():
		for name := range ty.AttributeTypes() {
			if containsMarked(v.GetAttr(name)) {
				return true
			}
		}
	case ty.IsCollectionType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			if _, e := it.Element(); containsMarked(e) {
				return true
			}
		}
	}
	return false
}

// DecodeValue is the inverse of EncodeValue: it re-marks the sensitive paths.
// A nil DynamicValue decodes as cty.NilVal.
func DecodeValue(dv *pb.DynamicValue) (cty.Value, error) {
	if dv == nil {
		return cty.NilVal, nil
	}
	ty, err := decodeType(dv.TypeJson)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decoding value type: %w", err)
	}
	v, err := msgpack.Unmarshal(dv.Msgpack, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decoding value of type %s: %w", ty.FriendlyName(), err)
	}
	if len(dv.SensitivePaths) == 0 {
		return v, nil
	}
	marks := make([]cty.PathValueMarks, 0, len(dv.SensitivePaths))
	for _, p := range dv.SensitivePaths {
		path, err := DecodePath(p)
		if err != nil {
			return cty.NilVal, fmt.Errorf("decoding sensitive path: %w", err)
		}
		marks = append(marks, cty.PathValueMarks{Path: path, Marks: cty.NewValueMarks(SensitiveMark)})
	}
	return v.MarkWithPaths(marks), nil
}

// types are the types decoded so far, by their JSON: a run sends the same
// few (a step's config, an action's outputs) thousands of times, and
// parsing them was a tenth of a large plan's time. Bounded, as a plugin
// may send a type of its own with every value.
var types struct {
	sync.Map // string -> cty.Type
	n        atomic.Int32
}

const maxTypes = 1024

func decodeType(js []byte) (cty.Type, error) {
	if ty, ok := types.Load(string(js)); ok {
		return ty.(cty.Type), nil
	}
	ty, err := ctyjson.UnmarshalType(js)
	if err == nil && types.n.Add(1) <= maxTypes {
		types.Store(string(js), ty)
	}
	return ty, err
}

// encoded are the types encoded so far with their JSON, for the same
// reason as types: a type cannot be a map key, so they are compared in
// turn, newest first. Copied on write; bounded like types.
var encoded atomic.Pointer[[]encodedType]

type encodedType struct {
	ty   cty.Type
	json []byte
}

const maxEncodedTypes = 64

func encodeType(ty cty.Type) ([]byte, error) {
	p := encoded.Load()
	var known []encodedType
	if p != nil {
		known = *p
	}
	for i := len(known) - 1; i >= 0; i-- {
		if known[i].ty.Equals(ty) {
			return known[i].json, nil
		}
	}
	js, err := ctyjson.MarshalType(ty)
	if err == nil && len(known) < maxEncodedTypes {
		more := append(known[:len(known):len(known)], encodedType{ty, js})
		encoded.CompareAndSwap(p, &more) // lost to another: cached next time
	}
	return js, err
}

// EncodePath converts a cty.Path. A step the protocol cannot name (a set
// element, a fractional index) ends the path there: marking the enclosing
// value errs on the side of hiding more, never less.
func EncodePath(path cty.Path) *pb.AttributePath {
	if path == nil {
		return nil
	}
	out := &pb.AttributePath{Steps: make([]*pb.AttributePath_Step, 0, len(path))}
	for _, step := range path {
		s := encodeStep(step)
		if s == nil {
			break
		}
		out.Steps = append(out.Steps, s)
	}
	return out
}

func encodeStep(step cty.PathStep) *pb.AttributePath_Step {
	switch s := step.(type) {
	case cty.GetAttrStep:
		return &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_AttributeName{AttributeName: s.Name}}
	case cty.IndexStep:
		key := s.Key
		if !key.IsKnown() || key.IsNull() {
			return nil
		}
		switch key.Type() {
		case cty.String:
			return &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyString{ElementKeyString: key.AsString()}}
		case cty.Number:
			if i, acc := key.AsBigFloat().Int64(); acc == 0 {
				return &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyInt{ElementKeyInt: i}}
			}
		}
	}
	return nil
}

// DecodePath is the inverse of EncodePath. A nil path decodes as nil.
func DecodePath(p *pb.AttributePath) (cty.Path, error) {
	if p == nil {
		return nil, nil
	}
	path := make(cty.Path, 0, len(p.Steps))
	for i, s := range p.Steps {
		switch sel := s.GetSelector().(type) {
		case *pb.AttributePath_Step_AttributeName:
			path = path.GetAttr(sel.AttributeName)
		case *pb.AttributePath_Step_ElementKeyString:
			path = path.Index(cty.StringVal(sel.ElementKeyString))
		case *pb.AttributePath_Step_ElementKeyInt:
			path = path.Index(cty.NumberIntVal(sel.ElementKeyInt))
		default:
			return nil, fmt.Errorf("step %d of an attribute path is empty", i)
		}
	}
	return path, nil
}

// EncodeType and DecodeType carry a cty.Type as JSON.
func EncodeType(ty cty.Type) ([]byte, error) { return ctyjson.MarshalType(ty) }

// DecodeType is the inverse of EncodeType.
func DecodeType(data []byte) (cty.Type, error) { return ctyjson.UnmarshalType(data) }
