package funcs

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// StartsWithFunc reports whether a string begins with a prefix.
var StartsWithFunc = stringPredicate("prefix", strings.HasPrefix,
	"Reports whether the string begins with the given prefix.")

// EndsWithFunc reports whether a string ends with a suffix.
var EndsWithFunc = stringPredicate("suffix", strings.HasSuffix,
	"Reports whether the string ends with the given suffix.")

// StrContainsFunc reports whether a string contains a substring.
var StrContainsFunc = stringPredicate("substr", strings.Contains,
	"Reports whether the string contains the given substring.")

func stringPredicate(second string, pred func(s, x string) bool, desc string) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params: []function.Parameter{
			{Name: "str", Type: cty.String},
			{Name: second, Type: cty.String},
		},
		Type:         function.StaticReturnType(cty.Bool),
		RefineResult: refineNotNull,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(pred(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

// ReplaceFunc replaces every occurrence of a substring, as Terraform's replace
// does: a substring wrapped in slashes ("/v[0-9]+/") is a regular expression,
// and the replacement may then refer to its capture groups ($1, ${name}).
var ReplaceFunc = function.New(&function.Spec{
	Description: "Replaces every occurrence of substr in str; a /substr/ in slashes is a regular expression.",
	Params: []function.Parameter{
		{Name: "str", Type: cty.String},
		{Name: "substr", Type: cty.String},
		{Name: "replace", Type: cty.String},
	},
	Type:         function.StaticReturnType(cty.String),
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		substr := args[1].AsString()
		if len(substr) > 1 && strings.HasPrefix(substr, "/") && strings.HasSuffix(substr, "/") {
			pattern := substr[1 : len(substr)-1]
			if _, err := regexp.Compile(pattern); err != nil {
				return cty.NilVal, function.NewArgErrorf(1, "invalid regular expression %s: %s", substr, err)
			}
			return stdlib.RegexReplace(args[0], cty.StringVal(pattern), args[2])
		}
		return stdlib.Replace(args[0], args[1], args[2])
	},
})

// URLEncodeFunc escapes a string for use in a URL query.
var URLEncodeFunc = function.New(&function.Spec{
	Description:  "Escapes the string so it can be placed inside a URL query.",
	Params:       []function.Parameter{{Name: "str", Type: cty.String}},
	Type:         function.StaticReturnType(cty.String),
	RefineResult: refineNotNull,
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(url.QueryEscape(args[0].AsString())), nil
	},
})

func refineNotNull(b *cty.RefinementBuilder) *cty.RefinementBuilder {
	return b.NotNull()
}
