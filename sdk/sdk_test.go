package sdk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk/internal/wire"
)

var testBlock = Block{
	Attributes: map[string]*Attribute{
		"url":     {Type: cty.String, Required: true},
		"token":   {Type: cty.String, Sensitive: true},
		"retries": {Type: cty.Number},
		"tags":    {Type: cty.List(cty.String)},
		"vars":    {Type: cty.DynamicPseudoType},
	},
	Blocks: map[string]*NestedBlock{
		"policy": {Nesting: NestingSingle, Block: Block{Attributes: map[string]*Attribute{"attempts": {Type: cty.Number, Required: true}}}},
		"header": {Nesting: NestingList, MaxItems: 2, Block: Block{Attributes: map[string]*Attribute{"name": {Type: cty.String, Required: true}}}},
	},
}

func TestSensitiveConstantMatchesTheWire(t *testing.T) {
	if Sensitive != wire.SensitiveMark {
		t.Fatal("sdk.Sensitive and the wire's mark differ")
	}
}

// conformTest conforms v to testBlock, as the server conforms a step's
// config to its action's block.
func conformTest(v cty.Value) (cty.Value, Diagnostics) {
	return conformConfig(&testBlock, testBlock.ImpliedType(), v)
}

func TestConformConfigFillsOptionalAndMarksSensitive(t *testing.T) {
	got, diags := conformTest(cty.ObjectVal(map[string]cty.Value{
		"url":     cty.StringVal("http://x"),
		"token":   cty.StringVal("t"),
		"retries": cty.StringVal("3"), // converted
	}))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if !got.GetAttr("retries").RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("retries: %#v", got.GetAttr("retries"))
	}
	for _, name := range []string{"tags", "vars", "policy", "header"} {
		if !got.GetAttr(name).IsNull() {
			t.Errorf("%s should be null, got %#v", name, got.GetAttr(name))
		}
	}
	if !got.GetAttr("token").HasMark(Sensitive) {
		t.Error("token is not marked sensitive")
	}
}

func TestConformConfigDiagnostics(t *testing.T) {
	cases := map[string]struct {
		config cty.Value
		want   string // Error() of the only diagnostic
	}{
		"missing": {cty.EmptyObjectVal, `error in url: Missing required argument "url": Set url (string).`},
		"unsupported": {cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("u"), "urll": cty.True}),
			`error in urll: Unsupported argument "urll": This action accepts: retries, tags, token, url, vars, header {}, policy {}.`},
		"wrong type": {cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("u"), "retries": cty.StringVal("many")}),
			`error in retries: Invalid value for retries: A number is required.`},
		"nested": {cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("u"), "header": cty.TupleVal([]cty.Value{cty.EmptyObjectVal})}),
			`error in header[0].name: Missing required argument "name": Set name (string).`},
		"too many blocks": {cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("u"), "header": cty.ListVal([]cty.Value{
			cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("a")}),
			cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("b")}),
			cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("c")}),
		})}), `error in header: Wrong number of "header" blocks: Found 3; between 0 and 2 expected.`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, diags := conformTest(c.config)
			if len(diags) != 1 || diags[0].Error() != c.want {
				t.Fatalf("got %v\nwant %s", diags, c.want)
			}
		})
	}
}

func TestConformConfigKeepsUnknownsAndMarks(t *testing.T) {
	got, diags := conformTest(cty.ObjectVal(map[string]cty.Value{
		"url":  cty.UnknownVal(cty.String),
		"tags": cty.ListVal([]cty.Value{cty.StringVal("a").Mark(Sensitive)}),
	}))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if got.GetAttr("url").IsKnown() {
		t.Error("url became known")
	}
	tags, _ := got.GetAttr("tags").Unmark()
	if !tags.Index(cty.Zero).HasMark(Sensitive) || got.GetAttr("url").IsMarked() {
		t.Errorf("marks moved: %#v", got)
	}
	whole, diags := conformTest(cty.DynamicVal)
	if diags.HasErrors() || whole.IsKnown() {
		t.Errorf("a wholly unknown config: %#v %v", whole, diags)
	}
}

func TestConformOutputs(t *testing.T) {
	s := &ActionSchema{Outputs: map[string]*Attribute{
		"id":     {Type: cty.String},
		"count":  {Type: cty.Number},
		"secret": {Type: cty.String, Sensitive: true},
	}}
	planned, diags := conformOutputs(s, cty.NilVal, true)
	if diags.HasErrors() || planned.GetAttr("id").IsKnown() || !planned.GetAttr("secret").HasMark(Sensitive) {
		t.Errorf("planned: %#v %v", planned, diags)
	}
	applied, diags := conformOutputs(s, cty.ObjectVal(map[string]cty.Value{"count": cty.StringVal("2"), "secret": cty.StringVal("s")}), false)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if !applied.GetAttr("id").IsNull() || !applied.GetAttr("count").RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("applied: %#v", applied)
	}
	_, diags = conformOutputs(s, cty.ObjectVal(map[string]cty.Value{"idd": cty.StringVal("x")}), false)
	if len(diags) != 1 || !strings.Contains(diags[0].Summary, `undeclared output "idd"`) {
		t.Errorf("undeclared output: %v", diags)
	}
	_, diags = conformOutputs(s, cty.ObjectVal(map[string]cty.Value{"count": cty.StringVal("many")}), false)
	if !diags.HasErrors() {
		t.Error("an output of the wrong type passed")
	}
	// Every output given, of its type: a sensitive one is still marked.
	all, diags := conformOutputs(s, cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("i"), "count": cty.NumberIntVal(1), "secret": cty.StringVal("s")}), false)
	if diags.HasErrors() || !all.GetAttr("secret").HasMark(Sensitive) || all.GetAttr("id").IsMarked() {
		t.Errorf("all outputs given: %#v %v", all, diags)
	}
}

// Outputs that already have the schema's type, none of them sensitive, come
// back as they are: an output of type any keeps its own type and the marks
// inside it (std.noop echoes its inputs so).
func TestConformOutputsOfFittingOutputs(t *testing.T) {
	s := &ActionSchema{Outputs: map[string]*Attribute{"inputs": {Type: cty.DynamicPseudoType}, "step_id": {Type: cty.String}}}
	v := cty.ObjectVal(map[string]cty.Value{
		"inputs":  cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal("s").Mark(Sensitive), "n": cty.NumberIntVal(1)}),
		"step_id": cty.StringVal("a"),
	})
	for _, planned := range []bool{false, true} {
		got, diags := conformOutputs(s, v, planned)
		if diags.HasErrors() || !got.RawEquals(v) {
			t.Errorf("planned %v: got %#v %v, want it unchanged", planned, got, diags)
		}
	}
	converted, diags := conformOutputs(s, cty.ObjectVal(map[string]cty.Value{"inputs": cty.True, "step_id": cty.NumberIntVal(7)}), false)
	if diags.HasErrors() || !converted.GetAttr("step_id").RawEquals(cty.StringVal("7")) {
		t.Errorf("a number for a string output: %#v %v", converted, diags)
	}
}

type decodeTarget struct {
	URL     string    `cty:"url"`
	Token   *string   `cty:"token"`
	Retries int       `cty:"retries"`
	Tags    []string  `cty:"tags"`
	Vars    cty.Value `cty:"vars"`
	Retry   *struct {
		Attempts int `cty:"attempts"`
	} `cty:"policy"`
	Header []struct {
		Name string `cty:"name"`
	} `cty:"header"`
}

func TestDecodeNullsAsZeroValues(t *testing.T) {
	cfg, diags := conformTest(cty.ObjectVal(map[string]cty.Value{
		"url":    cty.StringVal("http://x"),
		"header": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("h")})}),
		"vars":   cty.ObjectVal(map[string]cty.Value{"v": cty.UnknownVal(cty.String)}),
	}))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	var got decodeTarget
	if err := Decode(cfg, &got); err != nil {
		t.Fatal(err)
	}
	if got.URL != "http://x" || got.Token != nil || got.Retries != 0 || len(got.Tags) != 0 || got.Retry != nil {
		t.Errorf("decoded %+v", got)
	}
	if len(got.Header) != 1 || got.Header[0].Name != "h" || got.Vars.GetAttr("v").IsKnown() {
		t.Errorf("decoded %+v", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	var target decodeTarget
	cfg, _ := conformTest(cty.ObjectVal(map[string]cty.Value{"url": cty.UnknownVal(cty.String)}))
	if err := Decode(cfg, &target); err == nil || !strings.HasPrefix(err.Error(), "url: ") {
		t.Errorf("unknown into a string: %v", err)
	}
	if err := Decode(cfg, target); err == nil {
		t.Error("decoding into a non-pointer succeeded")
	}
}

func TestSchemaValidate(t *testing.T) {
	cases := map[string]ActionSchema{
		"no type":      {Block: Block{Attributes: map[string]*Attribute{"a": {}}}},
		"bad name":     {Block: Block{Attributes: map[string]*Attribute{"a-b": {Type: cty.String}}}},
		"clash":        {Block: Block{Attributes: map[string]*Attribute{"a": {Type: cty.String}}, Blocks: map[string]*NestedBlock{"a": {Nesting: NestingList}}}},
		"no nesting":   {Block: Block{Blocks: map[string]*NestedBlock{"b": {}}}},
		"bad range":    {Block: Block{Blocks: map[string]*NestedBlock{"b": {Nesting: NestingList, MinItems: 3, MaxItems: 1}}}},
		"nil output":   {Outputs: map[string]*Attribute{"o": nil}},
		"meta timeout": {Block: Block{Attributes: map[string]*Attribute{"timeout": {Type: cty.String}}}},
		"meta retry":   {Block: Block{Blocks: map[string]*NestedBlock{"retry": {Nesting: NestingSingle}}}},
		"meta config":  {Block: Block{Attributes: map[string]*Attribute{"config": {Type: cty.String}}}},
		"nested type":  {Block: Block{Blocks: map[string]*NestedBlock{"b": {Nesting: NestingSingle, Block: Block{Attributes: map[string]*Attribute{"x": {}}}}}}},
	}
	for name, s := range cases {
		if err := s.Validate(); err == nil {
			t.Errorf("%s: schema accepted", name)
		}
	}
	ok := ActionSchema{Block: testBlock}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid schema refused: %v", err)
	}
}

func TestHCLSpecDecodesABody(t *testing.T) {
	src := `
url = "http://x"
retries = 2
header { name = "a" }
header { name = "b" }
policy { attempts = 3 }
`
	f, diags := hclparse.NewParser().ParseHCL([]byte(src), "step.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v, diags := hcldec.Decode(f.Body, testBlock.HCLSpec(), &hcl.EvalContext{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	conformed, cdiags := conformTest(v)
	if cdiags.HasErrors() {
		t.Fatal(cdiags.Err())
	}
	if n := conformed.GetAttr("header").LengthInt(); n != 2 {
		t.Errorf("headers: %d", n)
	}
	if !conformed.GetAttr("policy").GetAttr("attempts").RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("policy: %#v", conformed.GetAttr("policy"))
	}
}

func TestFormatPath(t *testing.T) {
	p := cty.GetAttrPath("headers").Index(cty.StringVal("X-Token")).GetAttr("v").IndexInt(2)
	if got := FormatPath(p); got != `headers["X-Token"].v[2]` {
		t.Errorf("got %s", got)
	}
}

func TestDecodeTakesASubset(t *testing.T) {
	cfg, _ := conformTest(cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("u"), "retries": cty.NumberIntVal(2)}))
	var just struct {
		Retries int `cty:"retries"`
	}
	if err := Decode(cfg, &just); err != nil || just.Retries != 2 {
		t.Fatalf("got %+v, %v", just, err)
	}
	var extra struct {
		Nope string `cty:"nope"`
	}
	if err := Decode(cfg, &extra); err == nil {
		t.Error("a field without an attribute decoded")
	}
}

// A config that already has the block's type (what a host sends) skips the
// name checks and the conversion; what comes out is what they would give.
func TestConformConfigOfAFittingConfig(t *testing.T) {
	flat := Block{Attributes: map[string]*Attribute{
		"url":   {Type: cty.String, Required: true},
		"token": {Type: cty.String, Sensitive: true},
		"vars":  {Type: cty.DynamicPseudoType},
		"tags":  {Type: cty.List(cty.String)},
	}}
	config := func(url, token, vars, tags cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"url": url, "token": token, "vars": vars, "tags": tags})
	}
	noTags := cty.NullVal(cty.List(cty.String))
	fitting := config(cty.StringVal("u"), cty.StringVal("s"), cty.NumberIntVal(1), noTags)
	if !fits(flat.Attributes, fitting.Type()) {
		t.Fatal("a config of the block's type does not fit")
	}
	got, diags := conformConfig(&flat, flat.ImpliedType(), fitting)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !got.GetAttr("token").HasMark(Sensitive) || got.GetAttr("url").IsMarked() {
		t.Errorf("marks: %#v", got)
	}
	if v := got.GetAttr("vars"); !v.Type().Equals(cty.Number) {
		t.Errorf("vars (any) became %s, want the number it is", v.Type().FriendlyName())
	}
	_, diags = conformConfig(&flat, flat.ImpliedType(), config(cty.NullVal(cty.String), cty.StringVal("s"), cty.True, noTags))
	if !diags.HasErrors() || diags[0].Summary != `Missing required argument "url"` {
		t.Errorf("a null required argument in a fitting config: %v", diags)
	}
	// Not fitting: converted, or refused, as before.
	for name, c := range map[string]struct {
		v    cty.Value
		want string
	}{
		"a tuple for a list": {config(cty.StringVal("u"), cty.StringVal("s"), cty.True, cty.TupleVal([]cty.Value{cty.StringVal("a")})), ""},
		"a wrong type":       {config(cty.StringVal("u"), cty.StringVal("s"), cty.True, cty.StringVal("a")), "List of string required"},
		"an extra argument": {cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal("u"), "token": cty.StringVal("s"),
			"vars": cty.True, "tags": noTags, "extra": cty.True}), `Unsupported argument "extra"`},
	} {
		if fits(flat.Attributes, c.v.Type()) {
			t.Errorf("%s: fits", name)
		}
		got, diags := conformConfig(&flat, flat.ImpliedType(), c.v)
		switch {
		case c.want == "" && diags.HasErrors():
			t.Errorf("%s: %v", name, diags)
		case c.want == "" && !got.GetAttr("tags").Type().Equals(cty.List(cty.String)):
			t.Errorf("%s: not converted: %#v", name, got)
		case c.want != "" && (!diags.HasErrors() || !strings.Contains(fmt.Sprint(diags), c.want)):
			t.Errorf("%s: got %v, want %q", name, diags, c.want)
		}
	}
}
