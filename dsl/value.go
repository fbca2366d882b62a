package dsl

import (
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// FormatValue renders a value in HCL syntax for people, sensitive parts
// as v1.Redacted and unknown parts as v1.Unknown.
func FormatValue(v cty.Value) string {
	var b strings.Builder
	formatValue(&b, v)
	return b.String()
}

func formatValue(b *strings.Builder, v cty.Value) {
	if v.HasMark(SensitiveMark) {
		b.WriteString(v1.Redacted)
		return
	}
	v, _ = v.Unmark()
	switch {
	case v == cty.NilVal || v.IsNull():
		b.WriteString("null")
		return
	case !v.IsKnown():
		b.WriteString(v1.Unknown)
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		b.WriteString(strconv.Quote(v.AsString()))
	case ty == cty.Number:
		b.WriteString(v.AsBigFloat().Text('f', -1))
	case ty == cty.Bool:
		b.WriteString(strconv.FormatBool(v.True()))
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		b.WriteByte('[')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			_, e := it.Element()
			formatValue(b, e)
		}
		b.WriteByte(']')
	case ty.IsMapType() || ty.IsObjectType():
		b.WriteByte('{')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			k, e := it.Element()
			b.WriteString(k.AsString())
			b.WriteString(" = ")
			formatValue(b, e)
		}
		b.WriteByte('}')
	default:
		b.WriteString(ty.FriendlyName())
	}
}

// JSONValue converts a value for JSON output: sensitive parts become
// v1.Redacted and unknown parts v1.Unknown, so no secret reaches a machine view.
func JSONValue(v cty.Value) any {
	if v.HasMark(SensitiveMark) {
		return v1.Redacted
	}
	v, _ = v.Unmark()
	switch {
	case v == cty.NilVal || v.IsNull():
		return nil
	case !v.IsKnown():
		return v1.Unknown
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Number:
		if i, acc := v.AsBigFloat().Int64(); acc == 0 {
			return i
		}
		f, _ := v.AsBigFloat().Float64()
		return f
	case ty == cty.Bool:
		return v.True()
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, JSONValue(e))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = JSONValue(e)
		}
		return out
	}
	return ty.FriendlyName()
}
