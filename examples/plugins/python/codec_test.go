package pyecho

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"github.com/zclconf/go-cty/cty/msgpack"
)

// Values as cty (the host) encodes them, decoded and encoded again by the
// Python codec, must come back equal: what docs/plugin-protocol.md says of
// msgpack, types, unknowns and dynamic values, checked on both ends.
func TestCodecRoundTrip(t *testing.T) {
	refined := cty.UnknownVal(cty.String).RefineNotNull().Refine().StringPrefix("sha256:").NewValue()
	cases := map[string]struct{ in, want cty.Value }{
		"primitives": {in: cty.ObjectVal(map[string]cty.Value{
			"s": cty.StringVal("héllo"), "i": cty.NumberIntVal(-42), "f": cty.NumberFloatVal(1.5), "b": cty.True,
			"null": cty.NullVal(cty.String),
		})},
		"big numbers": {in: cty.ObjectVal(map[string]cty.Value{
			"uint64": cty.MustParseNumberVal("18446744073709551615"),
			"huge":   cty.MustParseNumberVal("18446744073709551616"),
			"exact":  cty.MustParseNumberVal("0.1000000000000000000001"),
		})},
		"collections": {in: cty.ObjectVal(map[string]cty.Value{
			"list":  cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
			"set":   cty.SetVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)}),
			"map":   cty.MapVal(map[string]cty.Value{"k": cty.ObjectVal(map[string]cty.Value{"x": cty.True})}),
			"tuple": cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1)}),
			"empty": cty.ListValEmpty(cty.String),
		})},
		"unknowns": {
			in: cty.ObjectVal(map[string]cty.Value{
				"s": cty.UnknownVal(cty.String), "dyn": cty.DynamicVal, "refined": refined,
				"in list": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
			}),
			// Refinements are hints: the Python codec keeps the unknown, not them.
			want: cty.ObjectVal(map[string]cty.Value{
				"s": cty.UnknownVal(cty.String), "dyn": cty.DynamicVal, "refined": cty.UnknownVal(cty.String),
				"in list": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
			}),
		},
		"wholly unknown": {in: cty.UnknownVal(cty.Object(map[string]cty.Type{"a": cty.String}))},
		"dynamic": {in: cty.ObjectVal(map[string]cty.Value{
			"any": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("x"), "n": cty.NumberIntVal(3)}),
		}), want: cty.NilVal},
	}
	py := exec.Command("/usr/bin/python3", "testdata/roundtrip.py")
	stdin, _ := py.StdinPipe()
	stdout, _ := py.StdoutPipe()
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = py.Wait() }()
	replies := bufio.NewScanner(stdout)
	replies.Buffer(nil, 1<<20)

	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ty := c.in.Type()
			if name == "dynamic" { // the attribute is of type any: the value carries its type
				ty = cty.Object(map[string]cty.Type{"any": cty.DynamicPseudoType})
			}
			data, err := msgpack.Marshal(c.in, ty)
			if err != nil {
				t.Fatal(err)
			}
			tyJSON, _ := ctyjson.MarshalType(ty)
			line, _ := json.Marshal(map[string][]byte{"msgpack": data, "type_json": tyJSON})
			if _, err := stdin.Write(append(line, '\n')); err != nil {
				t.Fatal(err)
			}
			if !replies.Scan() {
				t.Fatalf("no reply from the Python codec: %v", replies.Err())
			}
			var reply map[string][]byte
			if err := json.Unmarshal(replies.Bytes(), &reply); err != nil {
				t.Fatal(err)
			}
			gotTy, err := ctyjson.UnmarshalType(reply["type_json"])
			if err != nil || !gotTy.Equals(ty) {
				t.Fatalf("type %s came back as %s (%v)", tyJSON, reply["type_json"], err)
			}
			got, err := msgpack.Unmarshal(reply["msgpack"], ty)
			if err != nil {
				t.Fatalf("cty cannot read what Python wrote: %v", err)
			}
			want := c.want
			if want == cty.NilVal {
				want = c.in
			}
			if !got.RawEquals(want) {
				t.Fatalf("round trip changed the value:\n got %#v\nwant %#v", got, want)
			}
		})
	}
}
