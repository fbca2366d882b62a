package sdk

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Encode is Decode's mirror: it turns a Go value, typically a struct whose
// fields carry `cty:"name"` tags, into a cty value of type ty, such as an
// action's outputs:
//
//	type outputs struct {
//		ExitCode int     `cty:"exit_code"`
//		Stdout   string  `cty:"stdout"`
//		Digest   *string `cty:"digest"` // nil: null
//	}
//	resp.Outputs, err = sdk.Encode(outputs{...}, schema.OutputType())
//
// (or resp.SetOutputs(outputs{...}), which knows the type). Nested structs
// encode as objects, slices and arrays as lists, sets or tuples, maps with
// string keys as maps or objects. An attribute of ty without a field is
// null; a tagged field without an attribute is an error (a misspelt tag).
// A nil pointer or interface is null; a nil slice or map is an empty
// collection (use a pointer to one for null). A cty.Value field is
// converted to the attribute's type and keeps its marks, so a sensitive
// value stays sensitive; cty.NilVal is null. For an attribute of type
// cty.DynamicPseudoType (any), a Go value's type is inferred from it.
func Encode(v any, ty cty.Type) (cty.Value, error) {
	return encodeValue(v, ty, missingNull)
}

// What an object attribute without a field becomes.
func missingNull(ty cty.Type) cty.Value    { return cty.NullVal(ty) }
func missingUnknown(ty cty.Type) cty.Value { return cty.UnknownVal(ty) }

func encodeValue(v any, ty cty.Type, missing func(cty.Type) cty.Value) (cty.Value, error) {
	e := encoder{missing: missing}
	out, err := e.encode(reflect.ValueOf(v), ty, nil)
	if err != nil {
		var pe cty.PathError
		if errors.As(err, &pe) && len(pe.Path) > 0 {
			return cty.NilVal, fmt.Errorf("%s: %s", FormatPath(pe.Path), pe.Error())
		}
		return cty.NilVal, err
	}
	return out, nil
}

type encoder struct {
	missing func(cty.Type) cty.Value
}

func (e encoder) encode(rv reflect.Value, ty cty.Type, path cty.Path) (cty.Value, error) {
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return cty.NullVal(ty), nil
		}
		rv = rv.Elem()
	}
	switch {
	case !rv.IsValid():
		return cty.NullVal(ty), nil
	case rv.Type() == ctyValueType:
		return convertValue(rv.Interface().(cty.Value), ty, path)
	case ty == cty.DynamicPseudoType:
		implied, err := gocty.ImpliedType(rv.Interface())
		if err != nil {
			return cty.NilVal, path.NewErrorf("cannot tell the type of a Go %s for an attribute of any type: %s", rv.Type(), err)
		}
		return e.encode(rv, implied, path)
	case ty.IsObjectType() && rv.Kind() == reflect.Struct:
		return e.structObject(rv, ty, path)
	case ty.IsObjectType() && rv.Kind() == reflect.Map:
		return e.mapObject(rv, ty, path)
	case ty.IsMapType() && rv.Kind() == reflect.Map:
		return e.mapValue(rv, ty, path)
	case (ty.IsListType() || ty.IsSetType() || ty.IsTupleType()) && (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array):
		return e.sequence(rv, ty, path)
	}
	out, err := gocty.ToCtyValue(rv.Interface(), ty)
	if err != nil {
		return cty.NilVal, path.NewErrorf("cannot encode a Go %s as %s: %s", rv.Type(), ty.FriendlyName(), err)
	}
	return out, nil
}

func convertValue(v cty.Value, ty cty.Type, path cty.Path) (cty.Value, error) {
	if v == cty.NilVal {
		return cty.NullVal(ty), nil
	}
	out, err := convert.Convert(v, ty)
	if err != nil {
		return cty.NilVal, path.NewErrorf("%s", err)
	}
	return out, nil
}

func (e encoder) structObject(rv reflect.Value, ty cty.Type, path cty.Path) (cty.Value, error) {
	fields := map[string]int{}
	for i := range rv.NumField() {
		if name := tagName(rv.Type().Field(i)); name != "" {
			fields[name] = i
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !ty.HasAttribute(name) {
			return cty.NilVal, path.NewErrorf("field %s (cty:%q) has no attribute in %s",
				rv.Type().Field(fields[name]).Name, name, ty.FriendlyName())
		}
	}
	attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
	for name, aty := range ty.AttributeTypes() {
		i, ok := fields[name]
		if !ok {
			attrs[name] = e.missing(aty)
			continue
		}
		av, err := e.encode(rv.Field(i), aty, path.Copy().GetAttr(name))
		if err != nil {
			return cty.NilVal, err
		}
		attrs[name] = av
	}
	return cty.ObjectVal(attrs), nil
}

func (e encoder) mapObject(rv reflect.Value, ty cty.Type, path cty.Path) (cty.Value, error) {
	if rv.Type().Key().Kind() != reflect.String {
		return cty.NilVal, path.NewErrorf("a Go map for an object needs string keys, not %s", rv.Type().Key())
	}
	for _, k := range rv.MapKeys() {
		if !ty.HasAttribute(k.String()) {
			return cty.NilVal, path.NewErrorf("key %q has no attribute in %s", k.String(), ty.FriendlyName())
		}
	}
	attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
	for name, aty := range ty.AttributeTypes() {
		fv := rv.MapIndex(reflect.ValueOf(name).Convert(rv.Type().Key()))
		if !fv.IsValid() {
			attrs[name] = e.missing(aty)
			continue
		}
		av, err := e.encode(fv, aty, path.Copy().GetAttr(name))
		if err != nil {
			return cty.NilVal, err
		}
		attrs[name] = av
	}
	return cty.ObjectVal(attrs), nil
}

func (e encoder) mapValue(rv reflect.Value, ty cty.Type, path cty.Path) (cty.Value, error) {
	if rv.Type().Key().Kind() != reflect.String {
		return cty.NilVal, path.NewErrorf("a Go map for a cty map needs string keys, not %s", rv.Type().Key())
	}
	if rv.Len() == 0 {
		return cty.MapValEmpty(ty.ElementType()), nil
	}
	elems := make(map[string]cty.Value, rv.Len())
	for _, k := range rv.MapKeys() {
		ev, err := e.encode(rv.MapIndex(k), ty.ElementType(), path.Copy().Index(cty.StringVal(k.String())))
		if err != nil {
			return cty.NilVal, err
		}
		elems[k.String()] = ev
	}
	return convertValue(cty.ObjectVal(elems), ty, path) // unifies dynamic element types
}

func (e encoder) sequence(rv reflect.Value, ty cty.Type, path cty.Path) (cty.Value, error) {
	n := rv.Len()
	if ty.IsTupleType() && n != len(ty.TupleElementTypes()) {
		return cty.NilVal, path.NewErrorf("a %s needs %d elements, the Go %s has %d", ty.FriendlyName(), len(ty.TupleElementTypes()), rv.Type(), n)
	}
	elems := make([]cty.Value, n)
	for i := range n {
		var ety cty.Type
		if ty.IsTupleType() {
			ety = ty.TupleElementType(i)
		} else {
			ety = ty.ElementType()
		}
		ev, err := e.encode(rv.Index(i), ety, path.Copy().IndexInt(i))
		if err != nil {
			return cty.NilVal, err
		}
		elems[i] = ev
	}
	switch {
	case ty.IsTupleType():
		return cty.TupleVal(elems), nil
	case n == 0 && ty.IsListType():
		return cty.ListValEmpty(ty.ElementType()), nil
	case n == 0:
		return cty.SetValEmpty(ty.ElementType()), nil
	}
	return convertValue(cty.TupleVal(elems), ty, path) // unifies dynamic element types
}

// tagName is a field's attribute name, as gocty reads it.
func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("cty"), ",")
	return name
}
