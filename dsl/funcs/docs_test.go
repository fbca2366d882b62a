package funcs

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

const docPath = "../../docs/functions.md"

var (
	headingRe = regexp.MustCompile("^### `([a-z0-9]+)\\(")
	exampleRe = regexp.MustCompile("^Example: `(.+)` → `(.+)`$")
)

// docFunction is one "### `name(...)`" section of docs/functions.md.
type docFunction struct {
	name     string
	line     int
	examples []docExample
}

type docExample struct {
	line         int
	expr, result string
}

func readDoc(t *testing.T) []docFunction {
	t.Helper()
	f, err := os.Open(docPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fns []docFunction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := headingRe.FindStringSubmatch(line); m != nil {
			fns = append(fns, docFunction{name: m[1], line: n})
		} else if strings.HasPrefix(line, "### ") {
			t.Errorf("%s:%d: a function heading must look like ### `name(params) result`", docPath, n)
		}
		if strings.HasPrefix(line, "Example:") {
			m := exampleRe.FindStringSubmatch(line)
			if m == nil || len(fns) == 0 {
				t.Errorf("%s:%d: an example must look like Example: `expr` → `result`", docPath, n)
				continue
			}
			last := &fns[len(fns)-1]
			last.examples = append(last.examples, docExample{line: n, expr: m[1], result: m[2]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fns
}

// Every function of the table has a section in docs/functions.md, and every
// section documents a function of the table.
func TestEveryFunctionIsDocumented(t *testing.T) {
	table := Table("testdata", nil)
	documented := map[string]bool{}
	for _, fn := range readDoc(t) {
		if documented[fn.name] {
			t.Errorf("%s:%d: %s is documented twice", docPath, fn.line, fn.name)
		}
		documented[fn.name] = true
		if _, ok := table[fn.name]; !ok {
			t.Errorf("%s:%d: %s is documented but not in the table", docPath, fn.line, fn.name)
		}
		if len(fn.examples) == 0 {
			t.Errorf("%s:%d: %s has no example", docPath, fn.line, fn.name)
		}
	}
	var missing []string
	for name := range table {
		if !documented[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("functions missing from %s: %s", docPath, strings.Join(missing, ", "))
	}
}

// Every example of docs/functions.md evaluates to the result it shows.
func TestDocExamples(t *testing.T) {
	t.Setenv("HOME", "/home/ops") // the pathexpand example
	ctx := &hcl.EvalContext{Functions: Table("testdata", nil)}
	for _, fn := range readDoc(t) {
		for _, ex := range fn.examples {
			got := evalDoc(t, ctx, ex.line, ex.expr)
			want := evalDoc(t, ctx, ex.line, ex.result)
			if got == cty.NilVal || want == cty.NilVal {
				continue
			}
			if !sameValue(got, want) {
				t.Errorf("%s:%d: %s is %#v, not %s", docPath, ex.line, ex.expr, got, ex.result)
			}
		}
	}
}

func evalDoc(t *testing.T, ctx *hcl.EvalContext, line int, src string) cty.Value {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), docPath, hcl.Pos{Line: line, Column: 1})
	if !diags.HasErrors() {
		var v cty.Value
		v, diags = expr.Value(ctx)
		if !diags.HasErrors() {
			return v
		}
	}
	t.Errorf("%s:%d: %s: %s", docPath, line, src, diags)
	return cty.NilVal
}

// sameValue compares a result with the literal the docs show for it. A
// literal [..] or {..} is a tuple or object, so it is converted to the
// result's list, set or map type first; primitive types must match exactly.
func sameValue(got, want cty.Value) bool {
	if got.Type().IsPrimitiveType() || want.Type().IsPrimitiveType() {
		return got.RawEquals(want)
	}
	converted, err := convert.Convert(want, got.Type())
	return err == nil && got.RawEquals(converted)
}
