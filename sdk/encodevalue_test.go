package sdk

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

var releaseOutputs = (&ActionSchema{Outputs: map[string]*Attribute{
	"name":      {Type: cty.String},
	"revision":  {Type: cty.Number},
	"digest":    {Type: cty.String},
	"images":    {Type: cty.List(cty.String)},
	"labels":    {Type: cty.Map(cty.String)},
	"status":    {Type: cty.Object(map[string]cty.Type{"ready": cty.Bool, "pods": cty.Number})},
	"resources": {Type: cty.List(cty.Object(map[string]cty.Type{"kind": cty.String, "name": cty.String}))},
	"token":     {Type: cty.String, Sensitive: true},
	"extra":     {Type: cty.DynamicPseudoType},
}}).OutputType()

type podStatus struct {
	Ready bool `cty:"ready"`
	Pods  int  `cty:"pods"`
}

type resource struct {
	Kind string `cty:"kind"`
	Name string `cty:"name"`
}

type release struct {
	Name      string            `cty:"name"`
	Revision  int               `cty:"revision"`
	Digest    *string           `cty:"digest"`
	Images    []string          `cty:"images"`
	Labels    map[string]string `cty:"labels"`
	Status    *podStatus        `cty:"status"`
	Resources []resource        `cty:"resources"`
	Token     cty.Value         `cty:"token"`
	Extra     cty.Value         `cty:"extra"`
	NotOutput string            // no tag: not encoded
}

func TestEncodeMirrorsDecode(t *testing.T) {
	in := release{
		Name: "web", Revision: 7, Images: []string{"a:1", "b:2"}, Labels: map[string]string{"team": "alpha"},
		Status:    &podStatus{Ready: true, Pods: 3},
		Resources: []resource{{"Deployment", "web"}},
		Token:     cty.StringVal("s3cret").Mark(Sensitive),
		Extra:     cty.ObjectVal(map[string]cty.Value{"replicas": cty.NumberIntVal(3)}),
	}
	v, err := Encode(in, releaseOutputs)
	if err != nil {
		t.Fatal(err)
	}
	if errs := v.Type().TestConformance(releaseOutputs); errs != nil {
		t.Fatalf("type %s, want %s", v.Type().GoString(), releaseOutputs.GoString())
	}
	if !v.GetAttr("digest").IsNull() {
		t.Error("a nil pointer is not null")
	}
	if !v.GetAttr("token").HasMark(Sensitive) {
		t.Error("a cty.Value field lost its mark")
	}
	if got := v.GetAttr("extra").GetAttr("replicas"); !got.RawEquals(cty.NumberIntVal(3)) {
		t.Errorf("extra: %#v", v.GetAttr("extra"))
	}
	var back release
	if err := Decode(v, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != "web" || back.Revision != 7 || back.Digest != nil || len(back.Images) != 2 || back.Labels["team"] != "alpha" ||
		!back.Status.Ready || back.Status.Pods != 3 || back.Resources[0].Kind != "Deployment" {
		t.Errorf("round trip: %+v", back)
	}
	if !back.Token.HasMark(Sensitive) {
		t.Error("Decode dropped the mark of a cty.Value field")
	}
}

func TestEncodeNilsAndMissingFields(t *testing.T) {
	v, err := Encode(struct {
		Name   string   `cty:"name"`
		Images []string `cty:"images"`
	}{Name: "web"}, releaseOutputs)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.GetAttr("images"); !got.RawEquals(cty.ListValEmpty(cty.String)) {
		t.Errorf("a nil slice: %#v", got)
	}
	for _, name := range []string{"revision", "status", "token", "extra"} {
		if !v.GetAttr(name).IsNull() {
			t.Errorf("%s without a field is not null", name)
		}
	}
	dynamic, err := Encode(struct {
		Extra any `cty:"extra"`
	}{map[string]int{"replicas": 3}}, releaseOutputs)
	if err != nil || !dynamic.GetAttr("extra").RawEquals(cty.MapVal(map[string]cty.Value{"replicas": cty.NumberIntVal(3)})) {
		t.Errorf("a Go value for an attribute of any type: %#v, %v", dynamic, err)
	}
	if v, err := Encode((*release)(nil), releaseOutputs); err != nil || !v.IsNull() {
		t.Errorf("a nil struct pointer: %#v, %v", v, err)
	}
	if v, err := Encode(map[string]any{"name": "web", "revision": 2}, releaseOutputs); err != nil || !v.GetAttr("revision").RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("a map: %#v, %v", v, err)
	}
}

func TestEncodeErrorsNameTheAttribute(t *testing.T) {
	cases := map[string]struct {
		in   any
		want string
	}{
		"misspelt tag": {struct {
			Nmae string `cty:"nmae"`
		}{}, `field Nmae (cty:"nmae") has no attribute`},
		"wrong type": {struct {
			Revision string `cty:"revision"`
		}{"seven"}, "revision: "},
		"nested": {struct {
			Resources []struct {
				Kind int `cty:"kind"`
				Size int `cty:"size"`
			} `cty:"resources"`
		}{Resources: []struct {
			Kind int `cty:"kind"`
			Size int `cty:"size"`
		}{{}}}, `resources[0]: field Size (cty:"size") has no attribute`},
		"bad value": {struct {
			Token cty.Value `cty:"token"`
		}{cty.ListValEmpty(cty.String)}, "token: "},
		"unknown key": {map[string]any{"nope": 1}, `key "nope" has no attribute`},
	}
	for name, c := range cases {
		if _, err := Encode(c.in, releaseOutputs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}

func TestResponsesSetOutputs(t *testing.T) {
	s := &ActionSchema{Outputs: map[string]*Attribute{"name": {Type: cty.String}, "count": {Type: cty.Number}}}
	plan := PlanResponse{outputType: s.OutputType()}
	plan.SetPlannedOutputs(struct {
		Name string `cty:"name"`
	}{"web"})
	if !plan.PlannedOutputs.GetAttr("name").RawEquals(cty.StringVal("web")) || plan.PlannedOutputs.GetAttr("count").IsKnown() {
		t.Errorf("planned: %#v", plan.PlannedOutputs)
	}
	apply := ApplyResponse{outputType: s.OutputType()}
	apply.SetOutputs(struct {
		Name string `cty:"name"`
	}{"web"})
	if !apply.Outputs.GetAttr("count").IsNull() || apply.Diagnostics.HasErrors() {
		t.Errorf("applied: %#v %v", apply.Outputs, apply.Diagnostics)
	}
	apply.SetOutputs(struct {
		Count string `cty:"count"`
	}{"many"})
	if !apply.Diagnostics.HasErrors() || !strings.Contains(apply.Diagnostics.Err().Error(), "bug in the plugin") {
		t.Errorf("a bad output: %v", apply.Diagnostics)
	}
	var byHand ApplyResponse // made in a unit test: the type comes from the struct
	byHand.SetOutputs(struct {
		Name string `cty:"name"`
	}{"web"})
	if !byHand.Outputs.GetAttr("name").RawEquals(cty.StringVal("web")) {
		t.Errorf("by hand: %#v %v", byHand.Outputs, byHand.Diagnostics)
	}
}

func TestDecodeDropsMarksButInCtyValueFields(t *testing.T) {
	cfg := cty.ObjectVal(map[string]cty.Value{
		"user":  cty.StringVal("ada").Mark(Sensitive),
		"token": cty.StringVal("s3cret").Mark(Sensitive),
		"tags":  cty.ListVal([]cty.Value{cty.StringVal("a").Mark(Sensitive)}),
	})
	var got struct {
		User  string    `cty:"user"`
		Token cty.Value `cty:"token"`
		Tags  []string  `cty:"tags"`
	}
	if err := Decode(cfg, &got); err != nil {
		t.Fatal(err)
	}
	if got.User != "ada" || got.Tags[0] != "a" || !got.Token.HasMark(Sensitive) {
		t.Errorf("decoded %+v", got)
	}
}
