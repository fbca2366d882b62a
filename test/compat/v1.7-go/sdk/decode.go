package sdk

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

var ctyValueType = reflect.TypeFor[cty.Value]()

// Decode decodes a config (or any object value) into target, a pointer to a
// struct whose fields carry `cty:"name"` tags (gocty rules). Attributes
// without a field are skipped, so a struct may take just what it needs; a
// field without an attribute is an error. Unlike plain gocty, a null
// (unset optional) attribute decodes as the zero value into a non-pointer
// field; use a pointer field to tell "unset" from zero, and a cty.Value
// field to keep unknown values (in Plan) or any type. Encode is the mirror.
//
// Marks are dropped, except in cty.Value fields: a sensitive attribute
// decodes into a plain Go string like any other, so check IsSensitive on
// req.Config (or decode into a cty.Value field) before a value goes into a
// Summary, a Change, an event or a diagnostic. An unknown value decodes
// only into a cty.Value field: into any other field it is an error naming
// the attribute (KnownString and friends read one attribute without that).
func Decode(v cty.Value, target any) error {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("sdk.Decode: target must be a non-nil pointer, got %T", target)
	}
	v = zeroNulls(v, rv.Type().Elem())
	if err := gocty.FromCtyValue(v, target); err != nil {
		var pe cty.PathError
		if errors.As(err, &pe) && len(pe.Path) > 0 {
			return fmt.Errorf("%s: %s", FormatPath(pe.Path), pe.Error())
		}
		return err
	}
	return nil
}

// zeroNulls replaces null values that are headed for Go fields which cannot
// hold null (strings, numbers, bools, slices, maps, structs) by zero values,
// and drops the marks of all but the values headed for cty.Value fields.
func zeroNulls(v cty.Value, t reflect.Type) cty.Value {
	if t == ctyValueType {
		return v
	}
	v, _ = v.Unmark()
	if !v.IsKnown() || t.Kind() == reflect.Interface {
		v, _ = v.UnmarkDeep()
		return v
	}
	if v.IsNull() {
		if t.Kind() == reflect.Pointer {
			return v
		}
		return zeroValue(v.Type(), t)
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType() && t.Kind() == reflect.Struct:
		fields := structFields(t)
		attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
		for name, av := range v.AsValueMap() {
			if ft, ok := fields[name]; ok { // attributes without a field are skipped
				attrs[name] = zeroNulls(av, ft)
			}
		}
		return cty.ObjectVal(attrs)
	case (ty.IsListType() || ty.IsSetType() || ty.IsTupleType()) && t.Kind() == reflect.Slice && v.LengthInt() > 0:
		elems := make([]cty.Value, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			elems = append(elems, zeroNulls(ev, t.Elem()))
		}
		switch {
		case ty.IsListType():
			return cty.ListVal(elems)
		case ty.IsSetType():
			return cty.SetVal(elems)
		}
		return cty.TupleVal(elems)
	case ty.IsMapType() && t.Kind() == reflect.Map && v.LengthInt() > 0:
		elems := make(map[string]cty.Value, v.LengthInt())
		for k, ev := range v.AsValueMap() {
			elems[k] = zeroNulls(ev, t.Elem())
		}
		return cty.MapVal(elems)
	}
	v, _ = v.UnmarkDeep()
	return v
}

func zeroValue(ty cty.Type, t reflect.Type) cty.Value {
	switch {
	case ty == cty.String:
		return cty.StringVal("")
	case ty == cty.Number:
		return cty.Zero
	case ty == cty.Bool:
		return cty.False
	case ty.IsListType():
		return cty.ListValEmpty(ty.ElementType())
	case ty.IsSetType():
		return cty.SetValEmpty(ty.ElementType())
	case ty.IsMapType():
		return cty.MapValEmpty(ty.ElementType())
	case ty.IsObjectType() && t.Kind() == reflect.Struct:
		attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
		for name, at := range ty.AttributeTypes() {
			attrs[name] = cty.NullVal(at)
		}
		return zeroNulls(cty.ObjectVal(attrs), t)
	}
	return cty.NullVal(ty)
}

// structFields maps cty tag names to field types, as gocty reads them.
func structFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		if name := tagName(t.Field(i)); name != "" {
			fields[name] = t.Field(i).Type
		}
	}
	return fields
}
