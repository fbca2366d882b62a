package wire

import (
	"fmt"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func roundTrip(t *testing.T, v cty.Value) cty.Value {
	t.Helper()
	dv, err := EncodeValue(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeValue(dv)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestValuesRoundTrip(t *testing.T) {
	secret := cty.StringVal("hunter2").Mark(SensitiveMark)
	cases := map[string]cty.Value{
		"primitives": cty.ObjectVal(map[string]cty.Value{
			"s": cty.StringVal("x"), "n": cty.NumberFloatVal(1.5), "b": cty.True, "null": cty.NullVal(cty.String),
		}),
		"unknowns": cty.ObjectVal(map[string]cty.Value{
			"s":       cty.UnknownVal(cty.String),
			"dyn":     cty.DynamicVal,
			"refined": cty.UnknownVal(cty.String).RefineNotNull().Refine().StringPrefix("sha256:").NewValue(),
			"list":    cty.ListVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
		}),
		"wholly unknown": cty.UnknownVal(cty.Object(map[string]cty.Type{"a": cty.String})),
		"collections": cty.ObjectVal(map[string]cty.Value{
			"set":   cty.SetVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
			"map":   cty.MapVal(map[string]cty.Value{"k": cty.NumberIntVal(1)}),
			"tuple": cty.TupleVal([]cty.Value{cty.True, cty.StringVal("x")}),
		}),
		"sensitive nested": cty.ObjectVal(map[string]cty.Value{
			"token":   secret,
			"plain":   cty.StringVal("p"),
			"headers": cty.MapVal(map[string]cty.Value{"Authorization": secret, "Accept": cty.StringVal("json")}),
			"list":    cty.ListVal([]cty.Value{cty.StringVal("a"), secret}),
			"unknown": cty.UnknownVal(cty.String).Mark(SensitiveMark),
		}),
		"sensitive root": cty.StringVal("whole").Mark(SensitiveMark),
		// The secret is the only mark, at the bottom of each kind of
		// container: encoding looks for marks before it strips them.
		"sensitive only in a tuple": cty.TupleVal([]cty.Value{cty.True, cty.ObjectVal(map[string]cty.Value{"t": secret})}),
		"sensitive only in a map":   cty.MapVal(map[string]cty.Value{"a": cty.ListVal([]cty.Value{secret})}),
		"sensitive only unknown":    cty.ObjectVal(map[string]cty.Value{"u": cty.UnknownVal(cty.Number).Mark(SensitiveMark)}),
		"sensitive only null":       cty.ObjectVal(map[string]cty.Value{"n": cty.NullVal(cty.String).Mark(SensitiveMark)}),
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			got := roundTrip(t, v)
			if !got.RawEquals(v) {
				t.Fatalf("round trip changed the value:\n got %#v\nwant %#v", got, v)
			}
		})
	}
}

func TestOnlySensitiveMarksTravel(t *testing.T) {
	v := cty.ObjectVal(map[string]cty.Value{
		"a": cty.StringVal("x").Mark("ephemeral"),
		"b": cty.StringVal("y").WithMarks(cty.NewValueMarks("ephemeral", SensitiveMark)),
	})
	got := roundTrip(t, v)
	if got.GetAttr("a").IsMarked() {
		t.Error("a non-sensitive mark crossed the wire")
	}
	if b := got.GetAttr("b"); !b.HasMark(SensitiveMark) || b.HasMark("ephemeral") {
		t.Errorf("b: got marks %v, want only sensitive", b.Marks())
	}
}

func TestSensitiveSetElementMarksTheSet(t *testing.T) {
	// A path cannot name a set element: the whole set is marked instead.
	set := cty.SetVal([]cty.Value{cty.StringVal("a").Mark(SensitiveMark), cty.StringVal("b")})
	got := roundTrip(t, cty.ObjectVal(map[string]cty.Value{"set": set}))
	if s := got.GetAttr("set"); !s.HasMark(SensitiveMark) {
		t.Errorf("set lost its sensitivity: %#v", s)
	}
}

func TestNilValue(t *testing.T) {
	dv, err := EncodeValue(cty.NilVal)
	if err != nil || dv != nil {
		t.Fatalf("NilVal encoded as %v, %v", dv, err)
	}
	if v, err := DecodeValue(nil); err != nil || v != cty.NilVal {
		t.Fatalf("nil decoded as %#v, %v", v, err)
	}
}

func TestPathsRoundTrip(t *testing.T) {
	path := cty.GetAttrPath("a").Index(cty.StringVal("k")).Index(cty.NumberIntVal(3)).GetAttr("b")
	got, err := DecodePath(EncodePath(path))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equals(path) {
		t.Fatalf("got %#v, want %#v", got, path)
	}
	// Steps the protocol cannot name end the path at the nearest ancestor.
	fractional := cty.GetAttrPath("a").Index(cty.NumberFloatVal(1.5)).GetAttr("b")
	if got, _ := DecodePath(EncodePath(fractional)); !got.Equals(cty.GetAttrPath("a")) {
		t.Fatalf("fractional index: got %#v", got)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	dv, _ := EncodeValue(cty.StringVal("x"))
	dv.TypeJson = []byte(`"numbr"`)
	if _, err := DecodeValue(dv); err == nil {
		t.Error("an invalid type decoded")
	}
	dv.TypeJson = []byte(`"number"`)
	if _, err := DecodeValue(dv); err == nil {
		t.Error("a string decoded as a number")
	}
}

// A type is parsed once, and a bad one is refused every time, not cached.
func TestDecodeTypeCached(t *testing.T) {
	js := []byte(`["object",{"a":"string","b":["list","number"]}]`)
	for range 2 {
		ty, err := decodeType(js)
		if err != nil || !ty.Equals(cty.Object(map[string]cty.Type{"a": cty.String, "b": cty.List(cty.Number)})) {
			t.Fatalf("%#v %v", ty, err)
		}
	}
	for range 2 {
		if _, err := decodeType([]byte(`["object"`)); err == nil {
			t.Fatal("a bad type decoded")
		}
	}
}

// Types are encoded from a cache: each type gets its own JSON, however
// alike two are, and more types than the cache keeps still encode.
func TestEncodeTypeCached(t *testing.T) {
	alike := []cty.Type{
		cty.Object(map[string]cty.Type{"a": cty.String}),
		cty.Object(map[string]cty.Type{"a": cty.Number}),
		cty.Object(map[string]cty.Type{"b": cty.String}),
		cty.ObjectWithOptionalAttrs(map[string]cty.Type{"a": cty.String}, []string{"a"}),
		cty.Map(cty.String),
		cty.List(cty.String),
	}
	for i := range maxEncodedTypes + 10 { // past the cache's bound
		alike = append(alike, cty.Object(map[string]cty.Type{fmt.Sprintf("n%d", i): cty.Bool}))
	}
	for range 2 {
		for _, ty := range alike {
			got, err := encodeType(ty)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ctyjson.MarshalType(ty)
			if string(got) != string(want) {
				t.Fatalf("%#v encoded as %s, want %s", ty, got, want)
			}
		}
	}
	if n := len(*encoded.Load()); n != maxEncodedTypes {
		t.Errorf("the cache keeps %d types, want its bound %d", n, maxEncodedTypes)
	}
}
