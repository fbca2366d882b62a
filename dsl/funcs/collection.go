package funcs

import (
	"errors"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// LengthFunc counts the elements of a collection, the attributes of an
// object or the characters of a string (Terraform's length, which go-cty's
// stdlib splits in two).
var LengthFunc = function.New(&function.Spec{
	Description: "Returns the number of elements, attributes or characters in the given value.",
	Params: []function.Parameter{{
		Name: "value", Type: cty.DynamicPseudoType,
		AllowDynamicType: true, AllowUnknown: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		if ty == cty.String || ty == cty.DynamicPseudoType || ty.IsCollectionType() ||
			ty.IsTupleType() || ty.IsObjectType() {
			return cty.Number, nil
		}
		return cty.NilType, function.NewArgErrorf(0,
			"argument must be a string, a collection or a structural type, not %s", ty.FriendlyName())
	},
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		switch ty := v.Type(); {
		case ty == cty.DynamicPseudoType:
			return cty.UnknownVal(cty.Number), nil
		case ty.IsTupleType():
			return cty.NumberIntVal(int64(len(ty.TupleElementTypes()))), nil
		case ty.IsObjectType():
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))), nil
		case ty == cty.String:
			return stdlib.Strlen(v)
		default:
			return v.Length(), nil
		}
	},
})

// SumFunc adds up a list, set or tuple of numbers.
var SumFunc = function.New(&function.Spec{
	Description: "Returns the total of a list, set or tuple of numbers.",
	Params:      []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type: func(args []cty.Value) (cty.Type, error) {
		if ty := args[0].Type(); !isSequence(ty) {
			return cty.NilType, function.NewArgErrorf(0,
				"argument must be a list, set or tuple of numbers, not %s", ty.FriendlyName())
		}
		return cty.Number, nil
	},
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].LengthInt() == 0 {
			return cty.NilVal, function.NewArgErrorf(0, "cannot sum an empty list")
		}
		total := cty.Zero
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			n, err := convert.Convert(v, cty.Number)
			if err != nil || n.IsNull() {
				return cty.NilVal, function.NewArgErrorf(0,
					"every element must be a number; %s is not", v.Type().FriendlyName())
			}
			if !n.IsKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			total = total.Add(n)
		}
		return total, nil
	},
})

// AllTrueFunc reports whether every element of a list is true.
var AllTrueFunc = function.New(&function.Spec{
	Description:  "Returns true if every element of the list is true (also for an empty list).",
	Params:       []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:         function.StaticReturnType(cty.Bool),
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return decide(args[0], false), nil
	},
})

// AnyTrueFunc reports whether some element of a list is true.
var AnyTrueFunc = function.New(&function.Spec{
	Description:  "Returns true if at least one element of the list is true.",
	Params:       []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:         function.StaticReturnType(cty.Bool),
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return decide(args[0], true), nil
	},
})

// decide returns decisive if some element equals it (a null counts as false),
// unknown if an unknown element could still be it, and !decisive otherwise.
func decide(list cty.Value, decisive bool) cty.Value {
	unknown := false
	for it := list.ElementIterator(); it.Next(); {
		_, v := it.Element()
		switch {
		case !v.IsKnown():
			unknown = true
		case v.IsNull():
			if !decisive {
				return cty.False
			}
		case v.True() == decisive:
			return cty.BoolVal(decisive)
		}
	}
	if unknown {
		return cty.UnknownVal(cty.Bool).RefineNotNull()
	}
	return cty.BoolVal(!decisive)
}

// OneFunc turns a collection of zero or one elements into null or that element.
var OneFunc = function.New(&function.Spec{
	Description: "Returns the only element of a list, set or tuple, or null if it is empty; more elements are an error.",
	Params:      []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		switch {
		case ty.IsListType() || ty.IsSetType():
			return ty.ElementType(), nil
		case ty.IsTupleType() && len(ty.TupleElementTypes()) == 0:
			return cty.DynamicPseudoType, nil
		case ty.IsTupleType() && len(ty.TupleElementTypes()) == 1:
			return ty.TupleElementTypes()[0], nil
		}
		return cty.NilType, errOneElement
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		v := args[0]
		if v.Type().IsSetType() && !v.IsWhollyKnown() {
			return cty.UnknownVal(retType), nil // unknown elements may yet be equal
		}
		switch v.LengthInt() {
		case 0:
			return cty.NullVal(retType), nil
		case 1:
			it := v.ElementIterator() // sets have no index
			it.Next()
			_, only := it.Element()
			return only, nil
		}
		return cty.NilVal, errOneElement
	},
})

var errOneElement = function.NewArgError(0,
	errors.New("must be a list, set or tuple with either zero or one elements"))

// IndexFunc finds the position of a value in a list (Terraform's index, not
// go-cty's stdlib index operator).
var IndexFunc = function.New(&function.Spec{
	Description: "Returns the position of the first element of the list equal to the value.",
	Params: []function.Parameter{
		{Name: "list", Type: cty.DynamicPseudoType},
		{Name: "value", Type: cty.DynamicPseudoType},
	},
	Type: func(args []cty.Value) (cty.Type, error) {
		if ty := args[0].Type(); !(ty.IsListType() || ty.IsTupleType()) {
			return cty.NilType, function.NewArgErrorf(0,
				"argument must be a list or a tuple, not %s", ty.FriendlyName())
		}
		return cty.Number, nil
	},
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		for it := args[0].ElementIterator(); it.Next(); {
			i, v := it.Element()
			eq, err := stdlib.Equal(v, args[1])
			if err != nil {
				return cty.NilVal, err
			}
			if !eq.IsKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			if eq.True() {
				return i, nil
			}
		}
		return cty.NilVal, function.NewArgErrorf(1, "the list does not contain this value")
	},
})

// CoalesceFunc returns its first argument that is neither null nor an empty
// string, as Terraform's coalesce does (go-cty's skips only nulls).
var CoalesceFunc = function.New(&function.Spec{
	Description: "Returns the first argument that is neither null nor an empty string.",
	VarParam: &function.Parameter{
		Name: "vals", Type: cty.DynamicPseudoType,
		AllowNull: true, AllowUnknown: true, AllowDynamicType: true,
	},
	Type: func(args []cty.Value) (cty.Type, error) {
		types := make([]cty.Type, len(args))
		for i, v := range args {
			types[i] = v.Type()
		}
		ty, _ := convert.UnifyUnsafe(types)
		if ty == cty.NilType {
			return cty.NilType, errors.New("all arguments must have the same type")
		}
		return ty, nil
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		for _, v := range args {
			if !v.IsKnown() {
				return cty.UnknownVal(retType), nil
			}
			if v.IsNull() {
				continue
			}
			v, err := convert.Convert(v, retType)
			if err != nil {
				return cty.NilVal, err
			}
			if retType == cty.String && v.AsString() == "" {
				continue
			}
			return v, nil
		}
		return cty.NilVal, errors.New("every argument is null or an empty string")
	},
})

func isSequence(ty cty.Type) bool {
	return ty.IsListType() || ty.IsSetType() || ty.IsTupleType()
}
