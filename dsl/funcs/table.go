// Package funcs is the function library of the pipeline language.
//
// Most functions come from libraries, under the names Terraform users know:
// go-cty's stdlib, HCL's try/can/convert and go-cty-yaml. This package writes
// only what no library provides: files and paths, hashes, base64, sensitivity,
// and a few small string and collection helpers. docs/functions.md documents
// every name in the table (a test keeps the two in step).
package funcs

import (
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	ctyyaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// SensitiveMark is the cty mark carried by sensitive values. The sensitive
// function adds it; every other function passes it on to its result.
const SensitiveMark = "sensitive"

// Table returns every function of the language. baseDir resolves relative
// paths for the filesystem functions (file, fileexists, templatefile, ...): the
// pipeline's directory; reads, when not nil, records every file they read.
// The table is safe for concurrent use as long as nobody modifies it.
func Table(baseDir string, reads *Reads) map[string]function.Function {
	t := map[string]function.Function{
		// Strings.
		"chomp":       stdlib.ChompFunc,
		"endswith":    EndsWithFunc,
		"format":      stdlib.FormatFunc,
		"formatlist":  stdlib.FormatListFunc,
		"indent":      stdlib.IndentFunc,
		"join":        stdlib.JoinFunc,
		"lower":       stdlib.LowerFunc,
		"regex":       stdlib.RegexFunc,
		"regexall":    stdlib.RegexAllFunc,
		"replace":     ReplaceFunc,
		"split":       stdlib.SplitFunc,
		"startswith":  StartsWithFunc,
		"strcontains": StrContainsFunc,
		"strrev":      stdlib.ReverseFunc,
		"substr":      stdlib.SubstrFunc,
		"title":       stdlib.TitleFunc,
		"trim":        stdlib.TrimFunc,
		"trimprefix":  stdlib.TrimPrefixFunc,
		"trimspace":   stdlib.TrimSpaceFunc,
		"trimsuffix":  stdlib.TrimSuffixFunc,
		"upper":       stdlib.UpperFunc,

		// Numbers.
		"abs":      stdlib.AbsoluteFunc,
		"ceil":     stdlib.CeilFunc,
		"floor":    stdlib.FloorFunc,
		"log":      stdlib.LogFunc,
		"max":      stdlib.MaxFunc,
		"min":      stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc,
		"pow":      stdlib.PowFunc,
		"signum":   stdlib.SignumFunc,
		"sum":      SumFunc,

		// Collections.
		"alltrue":         AllTrueFunc,
		"anytrue":         AnyTrueFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"index":           IndexFunc,
		"keys":            stdlib.KeysFunc,
		"length":          LengthFunc,
		"lookup":          stdlib.LookupFunc,
		"merge":           stdlib.MergeFunc,
		"one":             OneFunc,
		"range":           stdlib.RangeFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,

		// Encoding.
		"base64decode": Base64DecodeFunc,
		"base64encode": Base64EncodeFunc,
		"csvdecode":    stdlib.CSVDecodeFunc,
		"jsondecode":   stdlib.JSONDecodeFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"urlencode":    URLEncodeFunc,
		"yamldecode":   ctyyaml.YAMLDecodeFunc,
		"yamlencode":   ctyyaml.YAMLEncodeFunc,

		// Hashes.
		"md5":    MD5Func,
		"sha1":   SHA1Func,
		"sha256": SHA256Func,
		"sha512": SHA512Func,

		// Dates and times.
		"formatdate": stdlib.FormatDateFunc,
		"timeadd":    stdlib.TimeAddFunc,

		// Files and paths.
		"abspath":    MakeAbsPathFunc(baseDir),
		"basename":   BasenameFunc,
		"dirname":    DirnameFunc,
		"file":       MakeFileFunc(baseDir, reads),
		"filebase64": MakeFileBase64Func(baseDir, reads),
		"fileexists": MakeFileExistsFunc(baseDir),
		"filesha256": MakeFileSHA256Func(baseDir, reads),
		"pathexpand": PathExpandFunc,

		// Types, conversions and errors.
		"can":          tryfunc.CanFunc,
		"convert":      typeexpr.ConvertFunc,
		"issensitive":  IsSensitiveFunc,
		"nonsensitive": NonsensitiveFunc,
		"sensitive":    SensitiveFunc,
		"tobool":       stdlib.MakeToFunc(cty.Bool),
		"tolist":       stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":        stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":     stdlib.MakeToFunc(cty.Number),
		"toset":        stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":     stdlib.MakeToFunc(cty.String),
		"try":          tryfunc.TryFunc,
	}
	// A template sees the whole table, except templatefile itself.
	t["templatefile"] = MakeTemplateFileFunc(baseDir, reads, func() map[string]function.Function { return t })
	return t
}
