package funcs

import (
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// anyMarked is a parameter that accepts every value as it is.
func anyMarked(name string) function.Parameter {
	return function.Parameter{
		Name: name, Type: cty.DynamicPseudoType,
		AllowNull: true, AllowUnknown: true, AllowDynamicType: true, AllowMarked: true,
	}
}

func sameType(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil }

// SensitiveFunc marks a value sensitive: pipectl redacts it in plans, logs
// and run records, and every value computed from it is sensitive too.
var SensitiveFunc = function.New(&function.Spec{
	Description: "Marks the value as sensitive, so that it and everything computed from it is redacted in output.",
	Params:      []function.Parameter{anyMarked("value")},
	Type:        sameType,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return args[0].Mark(SensitiveMark), nil
	},
})

// NonsensitiveFunc removes the sensitive mark, at every depth, and keeps
// every other mark. A value that is not sensitive passes through unchanged.
var NonsensitiveFunc = function.New(&function.Spec{
	Description: "Removes the sensitive mark from the value and from everything inside it.",
	Params:      []function.Parameter{anyMarked("value")},
	Type:        sameType,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, paths := args[0].UnmarkDeepWithPaths()
		kept := paths[:0]
		for _, pm := range paths {
			marks := make(cty.ValueMarks, len(pm.Marks))
			for m := range pm.Marks {
				if m != SensitiveMark {
					marks[m] = struct{}{}
				}
			}
			if len(marks) > 0 {
				kept = append(kept, cty.PathValueMarks{Path: pm.Path, Marks: marks})
			}
		}
		return v.MarkWithPaths(kept), nil
	},
})

// IsSensitiveFunc reports whether a value, or anything inside it, is sensitive.
var IsSensitiveFunc = function.New(&function.Spec{
	Description: "Returns true if the value, or any value inside it, is sensitive.",
	Params:      []function.Parameter{anyMarked("value")},
	Type:        function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(args[0].HasMarkDeep(SensitiveMark)), nil
	},
})
