package funcs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// testCase is one call of one function of the table.
type testCase struct {
	args    []cty.Value
	want    cty.Value // compared with RawEquals: type, value and marks
	unknown bool      // the result must be an unknown value of want's type
	err     string    // substring the error must contain
}

// runCases calls the table's function name, built for testdata/, with each case.
func runCases(t *testing.T, name string, cases []testCase) {
	t.Helper()
	f, ok := Table("testdata", nil)[name]
	if !ok {
		t.Fatalf("the table has no function %q", name)
	}
	for _, c := range cases {
		t.Run(argString(c.args), func(t *testing.T) {
			got, err := callLikeHCL(f, c.args)
			switch {
			case c.err != "":
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("%s: got (%#v, %v), want an error containing %q", name, got, err, c.err)
				}
			case err != nil:
				t.Fatalf("%s: unexpected error: %s", name, err)
			case c.unknown:
				if got.IsKnown() || !got.Type().Equals(c.want.Type()) {
					t.Fatalf("%s: got %#v, want an unknown %s", name, got, c.want.Type().FriendlyName())
				}
			case !got.RawEquals(c.want):
				t.Fatalf("%s: got %#v, want %#v", name, got, c.want)
			}
		})
	}
}

// callLikeHCL converts each argument to its parameter's type first, as
// hclsyntax does before it calls a function (so [true] is a list of bool).
func callLikeHCL(f function.Function, args []cty.Value) (cty.Value, error) {
	converted := make([]cty.Value, len(args))
	for i, arg := range args {
		param := f.VarParam()
		if i < len(f.Params()) {
			param = &f.Params()[i]
		}
		v, err := convert.Convert(arg, param.Type)
		if err != nil {
			return cty.NilVal, function.NewArgError(i, err)
		}
		converted[i] = v
	}
	return f.Call(converted)
}

func argString(args []cty.Value) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.GoString()
	}
	return strings.Join(parts, ", ")
}

var (
	str     = cty.StringVal
	num     = cty.NumberIntVal
	unknown = cty.UnknownVal
	secret  = func(v cty.Value) cty.Value { return v.Mark(SensitiveMark) }
	strs    = func(ss ...string) cty.Value {
		vs := make([]cty.Value, len(ss))
		for i, s := range ss {
			vs[i] = str(s)
		}
		return cty.ListVal(vs)
	}
)

func TestStartsWithEndsWithStrContains(t *testing.T) {
	runCases(t, "startswith", []testCase{
		{args: []cty.Value{str("registry.local/app"), str("registry.")}, want: cty.True},
		{args: []cty.Value{str("registry.local/app"), str("app")}, want: cty.False},
		{args: []cty.Value{str(""), str("")}, want: cty.True},
		{args: []cty.Value{unknown(cty.String), str("x")}, want: cty.False, unknown: true},
		{args: []cty.Value{secret(str("token-abc")), str("token-")}, want: secret(cty.True)},
		{args: []cty.Value{cty.NullVal(cty.String), str("x")}, err: "must not be null"},
	})
	runCases(t, "endswith", []testCase{
		{args: []cty.Value{str("values/dev.yaml"), str(".yaml")}, want: cty.True},
		{args: []cty.Value{str("values/dev.yaml"), str(".json")}, want: cty.False},
	})
	runCases(t, "strcontains", []testCase{
		{args: []cty.Value{str("alpha-members"), str("-mem")}, want: cty.True},
		{args: []cty.Value{str("alpha-members"), str("beta")}, want: cty.False},
	})
}

func TestReplace(t *testing.T) {
	runCases(t, "replace", []testCase{
		{args: []cty.Value{str("a.b.c"), str("."), str("-")}, want: str("a-b-c")},
		{args: []cty.Value{str("app:v1.2"), str("/v([0-9]+)/"), str("version$1")}, want: str("app:version1.2")},
		{args: []cty.Value{str("a/b"), str("/"), str("|")}, want: str("a|b")}, // one slash is no regex
		{args: []cty.Value{str("x"), str("/(/"), str("")}, err: "invalid regular expression"},
		{args: []cty.Value{unknown(cty.String), str("a"), str("b")}, want: str(""), unknown: true},
	})
}

func TestURLEncode(t *testing.T) {
	runCases(t, "urlencode", []testCase{
		{args: []cty.Value{str("a b&c=d/é")}, want: str("a+b%26c%3Dd%2F%C3%A9")},
		{args: []cty.Value{str("")}, want: str("")},
	})
}

func TestBase64(t *testing.T) {
	runCases(t, "base64encode", []testCase{
		{args: []cty.Value{str("Hello, pipectl!")}, want: str("SGVsbG8sIHBpcGVjdGwh")},
		{args: []cty.Value{str("")}, want: str("")},
		{args: []cty.Value{secret(str("pw"))}, want: secret(str("cHc="))},
	})
	runCases(t, "base64decode", []testCase{
		{args: []cty.Value{str("SGVsbG8sIHBpcGVjdGwh")}, want: str("Hello, pipectl!")},
		{args: []cty.Value{secret(str("cHc="))}, want: secret(str("pw"))},
		{args: []cty.Value{str("not base64!")}, err: `cannot decode base64 data "not base64!"`},
		{args: []cty.Value{secret(str("hunter2!"))}, err: "cannot decode base64 data (sensitive value)"},
		{args: []cty.Value{str("//4A")}, err: "not valid UTF-8"},
		{args: []cty.Value{unknown(cty.String)}, want: str(""), unknown: true},
	})
	// The sensitive value itself must not leak into the message.
	_, err := Table("", nil)["base64decode"].Call([]cty.Value{secret(str("hunter2!"))})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("base64decode error leaks the sensitive argument: %v", err)
	}
}

func TestHashes(t *testing.T) {
	hello := []cty.Value{str("hello")}
	runCases(t, "md5", []testCase{{args: hello, want: str("5d41402abc4b2a76b9719d911017c592")}})
	runCases(t, "sha1", []testCase{{args: hello, want: str("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")}})
	runCases(t, "sha256", []testCase{
		{args: hello, want: str("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")},
		{args: []cty.Value{str("")}, want: str("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")},
		{args: []cty.Value{secret(str("hello"))}, want: secret(str("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"))},
		{args: []cty.Value{unknown(cty.String)}, want: str(""), unknown: true},
	})
	runCases(t, "sha512", []testCase{{args: hello, want: str(
		"9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043")}})
}

func TestLength(t *testing.T) {
	runCases(t, "length", []testCase{
		{args: []cty.Value{str("héllo")}, want: num(5)},
		{args: []cty.Value{strs("a", "b")}, want: num(2)},
		{args: []cty.Value{cty.MapVal(map[string]cty.Value{"a": num(1)})}, want: num(1)},
		{args: []cty.Value{cty.EmptyTupleVal}, want: num(0)},
		{args: []cty.Value{cty.ObjectVal(map[string]cty.Value{"a": num(1), "b": str("x")})}, want: num(2)},
		{args: []cty.Value{cty.ListVal([]cty.Value{unknown(cty.String), str("x")})}, want: num(2)},
		{args: []cty.Value{unknown(cty.List(cty.String))}, want: num(0), unknown: true},
		{args: []cty.Value{cty.DynamicVal}, want: num(0), unknown: true},
		{args: []cty.Value{unknown(cty.String)}, want: num(0), unknown: true},
		{args: []cty.Value{secret(strs("a"))}, want: secret(num(1))},
		{args: []cty.Value{num(3)}, err: "must be a string, a collection or a structural type, not number"},
	})
}

func TestSum(t *testing.T) {
	runCases(t, "sum", []testCase{
		{args: []cty.Value{cty.ListVal([]cty.Value{num(1), num(2), cty.NumberFloatVal(0.5)})}, want: cty.NumberFloatVal(3.5)},
		{args: []cty.Value{cty.SetVal([]cty.Value{num(3), num(4)})}, want: num(7)},
		{args: []cty.Value{cty.TupleVal([]cty.Value{num(1), str("2")})}, want: num(3)},
		{args: []cty.Value{cty.ListValEmpty(cty.Number)}, err: "cannot sum an empty list"},
		{args: []cty.Value{cty.TupleVal([]cty.Value{num(1), cty.True})}, err: "every element must be a number; bool is not"},
		{args: []cty.Value{cty.ListVal([]cty.Value{num(1), cty.NullVal(cty.Number)})}, err: "every element must be a number"},
		{args: []cty.Value{cty.ListVal([]cty.Value{num(1), unknown(cty.Number)})}, want: num(0), unknown: true},
		{args: []cty.Value{str("12")}, err: "must be a list, set or tuple of numbers, not string"},
	})
}

func TestAllTrueAnyTrue(t *testing.T) {
	bools := func(vs ...cty.Value) cty.Value { return cty.ListVal(vs) }
	u := unknown(cty.Bool)
	runCases(t, "alltrue", []testCase{
		{args: []cty.Value{bools(cty.True, cty.True)}, want: cty.True},
		{args: []cty.Value{bools(cty.True, cty.False)}, want: cty.False},
		{args: []cty.Value{cty.ListValEmpty(cty.Bool)}, want: cty.True},
		{args: []cty.Value{bools(cty.True, cty.NullVal(cty.Bool))}, want: cty.False},
		{args: []cty.Value{bools(u, cty.False)}, want: cty.False}, // decided despite the unknown
		{args: []cty.Value{bools(u, cty.True)}, want: cty.False, unknown: true},
		{args: []cty.Value{cty.TupleVal([]cty.Value{cty.True, str("true")})}, want: cty.True},
		{args: []cty.Value{cty.TupleVal([]cty.Value{str("yes")})}, err: "a bool is required"},
	})
	runCases(t, "anytrue", []testCase{
		{args: []cty.Value{bools(cty.False, cty.True)}, want: cty.True},
		{args: []cty.Value{bools(cty.False, cty.False)}, want: cty.False},
		{args: []cty.Value{cty.ListValEmpty(cty.Bool)}, want: cty.False},
		{args: []cty.Value{bools(cty.NullVal(cty.Bool))}, want: cty.False},
		{args: []cty.Value{bools(u, cty.True)}, want: cty.True},
		{args: []cty.Value{bools(u, cty.False)}, want: cty.False, unknown: true},
	})
}

func TestOne(t *testing.T) {
	runCases(t, "one", []testCase{
		{args: []cty.Value{strs("only")}, want: str("only")},
		{args: []cty.Value{cty.ListValEmpty(cty.String)}, want: cty.NullVal(cty.String)},
		{args: []cty.Value{cty.SetVal([]cty.Value{num(7)})}, want: num(7)},
		{args: []cty.Value{cty.TupleVal([]cty.Value{cty.True})}, want: cty.True},
		{args: []cty.Value{cty.EmptyTupleVal}, want: cty.NullVal(cty.DynamicPseudoType)},
		{args: []cty.Value{strs("a", "b")}, err: "either zero or one elements"},
		{args: []cty.Value{cty.TupleVal([]cty.Value{num(1), num(2)})}, err: "either zero or one elements"},
		{args: []cty.Value{str("a")}, err: "must be a list, set or tuple"},
		{args: []cty.Value{cty.SetVal([]cty.Value{unknown(cty.String), str("a")})}, want: str(""), unknown: true},
	})
}

func TestIndex(t *testing.T) {
	runCases(t, "index", []testCase{
		{args: []cty.Value{strs("dev", "staging", "prod"), str("prod")}, want: num(2)},
		{args: []cty.Value{cty.TupleVal([]cty.Value{num(1), str("x")}), str("x")}, want: num(1)},
		{args: []cty.Value{strs("dev"), str("prod")}, err: "the list does not contain this value"},
		{args: []cty.Value{cty.ListValEmpty(cty.String), str("x")}, err: "does not contain"},
		{args: []cty.Value{strs("dev", "prod"), unknown(cty.String)}, want: num(0), unknown: true},
		{args: []cty.Value{cty.MapValEmpty(cty.String), str("x")}, err: "must be a list or a tuple"},
	})
}

func TestCoalesce(t *testing.T) {
	runCases(t, "coalesce", []testCase{
		{args: []cty.Value{cty.NullVal(cty.String), str(""), str("b"), str("c")}, want: str("b")},
		{args: []cty.Value{num(1), str("2")}, want: str("1")}, // unified to string
		{args: []cty.Value{cty.NullVal(cty.Number), num(0)}, want: num(0)},
		{args: []cty.Value{str(""), cty.NullVal(cty.String)}, err: "every argument is null or an empty string"},
		{args: []cty.Value{unknown(cty.String), str("b")}, want: str(""), unknown: true},
		{args: []cty.Value{str("a"), strs("b")}, err: "all arguments must have the same type"},
		{args: []cty.Value{cty.NullVal(cty.String), secret(str("s"))}, want: secret(str("s"))},
	})
}

func TestSensitive(t *testing.T) {
	other := "other-mark"
	inner := cty.ObjectVal(map[string]cty.Value{
		"user": str("admin").Mark(other),
		"pass": secret(str("pw")),
	})
	runCases(t, "sensitive", []testCase{
		{args: []cty.Value{str("pw")}, want: secret(str("pw"))},
		{args: []cty.Value{cty.NullVal(cty.String)}, want: secret(cty.NullVal(cty.String))},
		{args: []cty.Value{secret(num(1))}, want: secret(num(1))},
		{args: []cty.Value{unknown(cty.String)}, want: secret(unknown(cty.String))},
	})
	runCases(t, "nonsensitive", []testCase{
		{args: []cty.Value{secret(str("pw"))}, want: str("pw")},
		{args: []cty.Value{str("plain")}, want: str("plain")},
		{args: []cty.Value{secret(str("x")).Mark(other)}, want: str("x").Mark(other)},
		{args: []cty.Value{inner}, want: cty.ObjectVal(map[string]cty.Value{
			"user": str("admin").Mark(other),
			"pass": str("pw"),
		})},
		{args: []cty.Value{secret(unknown(cty.String))}, want: unknown(cty.String)},
	})
	runCases(t, "issensitive", []testCase{
		{args: []cty.Value{secret(str("pw"))}, want: cty.True},
		{args: []cty.Value{str("pw").Mark(other)}, want: cty.False},
		{args: []cty.Value{inner}, want: cty.True},
		{args: []cty.Value{secret(unknown(cty.String))}, want: cty.True},
	})
}

// Values passing through library functions keep their marks.
func TestMarksPropagateThroughLibraryFunctions(t *testing.T) {
	runCases(t, "upper", []testCase{{args: []cty.Value{secret(str("pw"))}, want: secret(str("PW"))}})
	runCases(t, "jsonencode", []testCase{{
		args: []cty.Value{cty.ObjectVal(map[string]cty.Value{"pw": secret(str("x"))})},
		want: secret(str(`{"pw":"x"}`)),
	}})
	runCases(t, "format", []testCase{{
		args: []cty.Value{str("%s:%s"), str("user"), secret(str("pw"))},
		want: secret(str("user:pw")),
	}})
}

func TestFile(t *testing.T) {
	runCases(t, "file", []testCase{
		{args: []cty.Value{str("hello.txt")}, want: str("Hello, pipectl!\n")},
		{args: []cty.Value{str("values/../hello.txt")}, want: str("Hello, pipectl!\n")},
		{args: []cty.Value{str(absTestdata(t, "hello.txt"))}, want: str("Hello, pipectl!\n")},
		{args: []cty.Value{str("x.yaml")}, err: `no file exists at "x.yaml" (relative to the pipeline directory ` +
			absTestdata(t, "") + `); this function works only with files that are distributed as part of the pipeline directory`},
		{args: []cty.Value{str("binary.bin")}, err: `the file at "binary.bin" is not valid UTF-8 text; use filebase64`},
		{args: []cty.Value{str("values")}, err: `cannot read "values": not a regular file (it is a directory)`},
		{args: []cty.Value{unknown(cty.String)}, want: str(""), unknown: true},
	})
	runCases(t, "filebase64", []testCase{
		{args: []cty.Value{str("binary.bin")}, want: str("//4AYmluYXJ5")},
		{args: []cty.Value{str("missing.bin")}, err: `no file exists at "missing.bin"`},
	})
	runCases(t, "filesha256", []testCase{
		{args: []cty.Value{str("hello.txt")}, want: str(sha256Of(t, "Hello, pipectl!\n"))},
		{args: []cty.Value{str("missing.txt")}, err: `no file exists at "missing.txt"`},
	})
}

func TestFileExists(t *testing.T) {
	runCases(t, "fileexists", []testCase{
		{args: []cty.Value{str("hello.txt")}, want: cty.True},
		{args: []cty.Value{str("values/dev.yaml")}, want: cty.True},
		{args: []cty.Value{str("values/prod.yaml")}, want: cty.False},
		{args: []cty.Value{str("values")}, err: `"values" exists but is not a regular file (it is a directory)`},
	})
}

func TestPaths(t *testing.T) {
	runCases(t, "abspath", []testCase{
		{args: []cty.Value{str("values/dev.yaml")}, want: str(filepath.ToSlash(absTestdata(t, "values/dev.yaml")))},
		{args: []cty.Value{str("/etc/../etc/hosts")}, want: str("/etc/hosts")},
	})
	runCases(t, "basename", []testCase{
		{args: []cty.Value{str("values/dev.yaml")}, want: str("dev.yaml")},
		{args: []cty.Value{str("")}, want: str(".")},
	})
	runCases(t, "dirname", []testCase{
		{args: []cty.Value{str("values/dev.yaml")}, want: str("values")},
		{args: []cty.Value{str("dev.yaml")}, want: str(".")},
	})
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory:", err)
	}
	runCases(t, "pathexpand", []testCase{
		{args: []cty.Value{str("~/.kube/config")}, want: str(filepath.Join(home, ".kube/config"))},
		{args: []cty.Value{str("~")}, want: str(home)},
		{args: []cty.Value{str("~other/x")}, want: str("~other/x")},
		{args: []cty.Value{str("relative/x")}, want: str("relative/x")},
	})
}

func absTestdata(t *testing.T, rel string) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, rel)
}

func sha256Of(t *testing.T, s string) string {
	t.Helper()
	v, err := SHA256Func.Call([]cty.Value{str(s)})
	if err != nil {
		t.Fatal(err)
	}
	return v.AsString()
}
