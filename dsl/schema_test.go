package dsl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// upgradeSchema looks like what a helm plugin would publish.
var upgradeSchema = &BlockSchema{
	Attributes: map[string]*AttributeSchema{
		"release":  {Type: cty.String, Required: true},
		"chart":    {Type: cty.String, Required: true},
		"values":   {Type: cty.List(cty.String)},
		"replicas": {Type: cty.Number},
		"atomic":   {Type: cty.Bool},
		"password": {Type: cty.String, Sensitive: true},
		"extra":    {Type: cty.DynamicPseudoType},
	},
	Blocks: map[string]*NestedBlockSchema{
		"registry": {Nesting: NestingSingle, Block: BlockSchema{Attributes: map[string]*AttributeSchema{
			"url":   {Type: cty.String, Required: true},
			"token": {Type: cty.String, Sensitive: true},
		}}},
		"set": {Nesting: NestingList, MaxItems: 3, Block: BlockSchema{Attributes: map[string]*AttributeSchema{
			"name":  {Type: cty.String, Required: true},
			"value": {Type: cty.String},
		}}},
		"hook": {Nesting: NestingMap, Block: BlockSchema{Attributes: map[string]*AttributeSchema{
			"weight": {Type: cty.Number},
		}}},
	},
}

// decodeStep loads a pipeline with one step "a" of the given body, binds
// it, and decodes the step against the schema at plan time.
func decodeStep(t *testing.T, body string, schema *BlockSchema) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	cfg := mustLoad(t, fmt.Sprintf(`pipeline "p" {}
variable "token" {
  default   = "t0k3n"
  sensitive = true
}
stage "s" {
  step "build" {
    action = std.exec
  }
  step "a" {
    action = helm.upgrade
%s
  }
}
`, body))
	scope, diags := cfg.Bind(Inputs{Getenv: noEnv})
	requireNoDiags(t, cfg, diags)
	st := cfg.Step("a")
	return DecodeBody(st.Config, schema, scope.StepEvalContext(st, nil, nil))
}

func TestDecodeBodyTypesBlocksAndMarks(t *testing.T) {
	val, diags := decodeStep(t, `
    release  = "members"
    chart    = "./chart"
    values   = ["a.yaml", "b.yaml"]
    replicas = "3"
    password = "hunter2"
    extra    = { anything = [1, "two"] }
    registry {
      url   = "https://registry.local"
      token = var.token
    }
    set {
      name  = "image.tag"
      value = step.build.tag
    }
    set {
      name = "debug"
    }
    hook "pre" {
      weight = 1
    }
    hook "post" {}
`, upgradeSchema)
	requireNoDiags(t, nil, diags)
	if errs := val.Type().TestConformance(upgradeSchema.ImpliedType()); errs != nil {
		t.Errorf("type %#v does not conform to the schema's implied type: %v", val.Type(), errs)
	}
	plain, marks := val.UnmarkDeepWithPaths()
	if got := plain.GetAttr("replicas"); !got.RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("replicas = %#v: the string should convert to a number", got)
	}
	if got := plain.GetAttr("atomic"); !got.IsNull() {
		t.Errorf("absent optional attribute = %#v, want null", got)
	}
	if got := plain.GetAttr("set").Index(cty.NumberIntVal(0)).GetAttr("value"); got.IsKnown() {
		t.Errorf("a step output should be unknown at plan, got %#v", got)
	}
	if got := plain.GetAttr("hook").Index(cty.StringVal("pre")).GetAttr("weight"); !got.RawEquals(cty.NumberIntVal(1)) {
		t.Errorf("hook.pre.weight = %#v", got)
	}
	sensitive := map[string]bool{}
	for _, pm := range marks {
		if _, ok := pm.Marks[SensitiveMark]; ok {
			sensitive[fmt.Sprintf("%#v", pm.Path)] = true
		}
	}
	for _, path := range []cty.Path{cty.GetAttrPath("password"), cty.GetAttrPath("registry").GetAttr("token")} {
		if !sensitive[fmt.Sprintf("%#v", path)] {
			t.Errorf("%#v is not marked sensitive; marked: %v", path, sensitive)
		}
	}
	if len(sensitive) != 2 {
		t.Errorf("marked paths %v, want exactly password and registry.token", sensitive)
	}
}

func TestDecodeBodyAbsentBlocks(t *testing.T) {
	val, diags := decodeStep(t, `
    release = "members"
    chart   = "./chart"
`, upgradeSchema)
	requireNoDiags(t, nil, diags)
	if !val.GetAttr("registry").IsNull() || val.GetAttr("set").LengthInt() != 0 || val.GetAttr("hook").LengthInt() != 0 {
		t.Errorf("absent blocks decoded as %#v", val)
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	_, diags := decodeStep(t, `
    release  = "members"
    chrat    = "./chart"
    replicas = "three"
    values   = "a.yaml"
    regsitry {
      url = "x"
    }
    set {
      name = "a"
    }
    set {
      name = "b"
    }
    set {
      name = "c"
    }
    set {
      nmae = "d"
    }
    hook "pre" {}
    hook "pre" {}
`, upgradeSchema)
	for _, want := range []struct{ pos, summary, detail string }{
		{"test.hcl:10:12", "Missing required argument", `"chart" is required`},
		{"test.hcl:14:5", "Unsupported argument", `Did you mean "chart"?`},
		{"test.hcl:15:16", "Incorrect attribute value type", "a number is required"},
		{"test.hcl:16:16", "Incorrect attribute value type", "list of string required"},
		{"test.hcl:17:5", "Unsupported block type", `Did you mean "registry"?`},
		{"test.hcl:29:5", "Too many set blocks", "At most 3"},
		{"test.hcl:30:7", "Unsupported argument", `Did you mean "name"?`},
		{"test.hcl:33:10", "Duplicate hook block", `"pre" was already defined`},
	} {
		found := false
		for _, d := range diags {
			found = found || (d.Subject != nil && diagPos(d) == want.pos && d.Summary == want.summary && strings.Contains(d.Detail, want.detail))
		}
		if !found {
			t.Errorf("no %s %q containing %q in:\n%s", want.pos, want.summary, want.detail, listDiags(diags))
		}
	}
}

func TestDecodeBodyRequiredBlock(t *testing.T) {
	schema := &BlockSchema{Blocks: map[string]*NestedBlockSchema{
		"target": {Nesting: NestingSingle, MinItems: 1, Block: BlockSchema{}},
	}}
	_, diags := decodeStep(t, "", schema)
	wantDiag(t, diags, "Missing target block", `At least 1 "target" block`)
}

// A list of blocks with attributes of any type decodes to a tuple, since
// its elements may differ in type.
func TestDecodeBodyDynamicBlockList(t *testing.T) {
	schema := &BlockSchema{Blocks: map[string]*NestedBlockSchema{
		"arg": {Nesting: NestingList, Block: BlockSchema{Attributes: map[string]*AttributeSchema{"v": {Type: cty.DynamicPseudoType}}}},
	}}
	val, diags := decodeStep(t, "arg {\n v = 1\n}\narg {\n v = \"two\"\n}\n", schema)
	requireNoDiags(t, nil, diags)
	if got := val.GetAttr("arg"); !got.Type().IsTupleType() || got.LengthInt() != 2 {
		t.Errorf("arg = %#v", got)
	}
}

func TestAttributeRange(t *testing.T) {
	cfg := mustLoad(t, `pipeline "p" {}
stage "s" {
  step "a" {
    action = helm.upgrade
    values = ["a.yaml", "b.yaml"]
    limits = { cpu = "1", memory = "1Gi" }
    set {
      name = "first"
    }
    set {
      name = "second"
    }
    hook "pre" {
      weight = 1
    }
  }
}
`)
	body := cfg.Step("a").Config
	for _, c := range []struct {
		path cty.Path
		want string // line:column
	}{
		{cty.GetAttrPath("values"), "5:14"},
		{cty.GetAttrPath("values").Index(cty.NumberIntVal(1)), "5:25"},
		{cty.GetAttrPath("limits").GetAttr("memory"), "6:36"},
		{cty.GetAttrPath("set").Index(cty.NumberIntVal(1)).GetAttr("name"), "11:14"},
		{cty.GetAttrPath("hook").Index(cty.StringVal("pre")).GetAttr("weight"), "14:16"},
		{cty.GetAttrPath("set"), "7:5"},
		{cty.GetAttrPath("missing"), "3:12"},
		{nil, "3:12"},
	} {
		r := AttributeRange(body, c.path)
		if got := fmt.Sprintf("%d:%d", r.Start.Line, r.Start.Column); got != c.want {
			t.Errorf("AttributeRange(%#v) = %s, want %s", c.path, got, c.want)
		}
	}
}

// A misspelled meta-argument is an unknown configuration name to the
// schema; DecodeConfig says which meta-argument was meant.
func TestDecodeConfigSuggestsMetaArguments(t *testing.T) {
	cfg := mustLoad(t, `pipeline "p" {}
stage "s" {
  step "b" {
    action = std.exec
  }
  step "a" {
    action    = helm.upgrade
    release   = "members"
    chart     = "c"
    depend_on = [step.b]
    retyr {
      attempts = 2
    }
  }
}
`)
	scope, _ := cfg.Bind(Inputs{Getenv: noEnv})
	st := cfg.Step("a")
	_, diags := st.DecodeConfig(upgradeSchema, scope.StepEvalContext(st, nil, nil))
	wantDiag(t, diags, "Unsupported argument", `Did you mean the meta-argument "depends_on"?`)
	wantDiag(t, diags, "Unsupported block type", `Did you mean the meta-argument "retry"?`)
}

// A Ready schema decodes as it did before: the same values and the same
// diagnostics, from what it made once.
func TestReadySchemaDecodesAsBefore(t *testing.T) {
	var copyOf func(b *BlockSchema) *BlockSchema
	copyOf = func(b *BlockSchema) *BlockSchema {
		c := &BlockSchema{Attributes: b.Attributes, Blocks: map[string]*NestedBlockSchema{}}
		for name, nb := range b.Blocks {
			n := *nb
			n.Block = *copyOf(&nb.Block)
			c.Blocks[name] = &n
		}
		return c
	}
	ready := copyOf(upgradeSchema).Ready()
	if ready.body == nil || ready.Blocks["set"].Block.body == nil || upgradeSchema.body != nil {
		t.Fatal("Ready did not make what decoding needs, for the schema and its blocks (or made it for the schema it was copied from)")
	}
	for _, body := range []string{`
    release  = "members"
    chart    = "./chart"
    values   = ["a.yaml"]
    password = var.token
    registry {
      url = "x"
    }
    set {
      name = "a"
    }
    hook "pre" {
      weight = 1
    }
`, `
    chrat    = "./chart"
    replicas = "three"
    regsitry {}
    set {
      nmae = "d"
    }
    hook "pre" {}
    hook "pre" {}
`} {
		want, wantDiags := decodeStep(t, body, upgradeSchema)
		got, gotDiags := decodeStep(t, body, ready)
		if !got.RawEquals(want) || listDiags(gotDiags) != listDiags(wantDiags) {
			t.Errorf("against a Ready schema:\n%#v\n%s\nbefore:\n%#v\n%s", got, listDiags(gotDiags), want, listDiags(wantDiags))
		}
	}
}
