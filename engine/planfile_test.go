package engine

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/dsl"
)

// sameJSON decides as encoding both sides did (what a saved plan's check
// compared before it looked at the values as they are), and a saved plan
// that still holds is told so without encoding.
func TestSameJSONDecidesAsEncodingBothSides(t *testing.T) {
	encoded := func(a, b any) bool {
		x, _ := json.Marshal(normalJSON(a))
		y, _ := json.Marshal(normalJSON(b))
		return string(x) == string(y)
	}
	config := cty.ObjectVal(map[string]cty.Value{
		"release":  cty.StringVal("podinfo"),
		"replicas": cty.NumberIntVal(3),
		"ratio":    cty.NumberFloatVal(0.25),
		"big":      cty.NumberIntVal(1<<53 + 1),
		"values":   cty.ListVal([]cty.Value{cty.StringVal("a.yaml"), cty.StringVal("<b>&.yaml")}),
		"wait":     cty.True,
		"note":     cty.NullVal(cty.String),
		"later":    cty.UnknownVal(cty.String),
		"env":      cty.MapVal(map[string]cty.Value{"A": cty.StringVal("1")}),
	})
	fresh := dsl.JSONValue(config)
	var saved any // as ReadPlan gives it back
	raw, _ := json.Marshal(fresh)
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	if !alikeJSON(saved, fresh) {
		t.Errorf("a configuration read back from a saved plan is not alike its fresh evaluation: the check encodes every step")
	}
	edited := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range saved.(map[string]any) {
			m[key] = val
		}
		m[k] = v
		return m
	}
	for _, c := range []struct {
		name string
		a, b any
	}{
		{"read back", saved, fresh},
		{"another string", edited("release", "other"), fresh},
		{"another number", edited("replicas", 4.0), fresh},
		{"an int and its float", int64(3), 3.0},
		{"an int JSON rounds", int64(1<<53 + 1), float64(1 << 53)},
		{"minus zero", math.Copysign(0, -1), 0.0},
		{"a number and its digits", "3", int64(3)},
		{"a string JSON repairs", "bad \xff", "bad \ufffd"},
		{"a key more", edited("extra", nil), fresh},
		{"null and absent", edited("note", nil), fresh},
		{"a shorter list", edited("values", []any{"a.yaml"}), fresh},
		{"unknown and a value", edited("later", "x"), fresh},
		{"a typed string", map[string]string{"A": "1"}, map[string]any{"A": "1"}},
		{"nil and false", nil, false},
	} {
		if got, want := sameJSON(c.a, c.b), encoded(c.a, c.b); got != want {
			t.Errorf("%s: sameJSON = %v, encoding both = %v", c.name, got, want)
		}
		if alikeJSON(c.a, c.b) && !encoded(c.a, c.b) {
			t.Errorf("%s: alike, but they encode differently", c.name)
		}
	}
}
