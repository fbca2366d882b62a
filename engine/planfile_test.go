package engine

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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

// testPlan is a saved plan's content with configurations and outputs of
// every kind dsl.JSONValue makes; extra is put in one configuration.
func testPlan(extra any) *Plan {
	config := func(i int) any {
		return map[string]any{"release": "podinfo", "replicas": int64(i), "ratio": 0.25, "zero": math.Copysign(0, -1),
			"values": []any{"a.yaml", "<b>&\u2028.yaml"}, "wait": true, "note": nil, "later": Unknown, "token": Redacted,
			"env": map[string]any{"A": "1"}, "extra": extra}
	}
	p := &Plan{FormatVersion: PlanFormatVersion, Pipeline: "p", PlannedIn: "/w", ConfigDigest: "abc", Salt: "0f",
		Sources: &Sources{Files: map[string]string{"pipeline.hcl": "1234"}}, Variables: map[string]PlannedVariable{"tag": {Value: "1.0"}},
		Outputs: map[string]any{"url": "http://x", "count": int64(2)}, CreatedAt: time.Date(2026, 12, 7, 21, 0, 0, 5, time.UTC)}
	for i := range 3 {
		p.Steps = append(p.Steps, &PlannedStep{Name: "s" + string(rune('a'+i)), Stage: "st", Phase: PhaseMain, Action: "std.noop", Run: DecisionRun,
			Instances: []*PlannedInstance{{Kind: "run", Summary: "do nothing", Config: config(i)}}})
	}
	return p
}

// roundTripHashed is what WritePlan hashed before it skipped the round
// trip: the plan decoded from its encoding, encoded again.
func roundTripHashed(t *testing.T, p *Plan) []byte {
	b, _ := json.Marshal(p)
	var normal Plan
	if err := json.Unmarshal(b, &normal); err != nil {
		t.Fatal(err)
	}
	normal.ContentHash = ""
	out, _ := json.Marshal(&normal)
	return out
}

// A saved plan's hash is of the encoding any pipectl since format 3 sees
// when it decodes the file and encodes it again, whether WritePlan made it
// with a round trip or, where that changes nothing, without; and the plan
// reads back as it was written.
func TestWritePlanHashesWhatReadersSee(t *testing.T) {
	invalid := testPlan(nil)
	invalid.Steps[1].Instances[0].Summary = "bad \xff byte"
	badName := testPlan(nil)
	badName.Sources.Files["p\xfe.hcl"] = "5678"
	for name, p := range map[string]*Plan{
		"ordinary":             testPlan(nil),
		"an integer past 2^53": testPlan(int64(1<<53 + 1)),
		"a negative one":       testPlan([]any{int64(-(1<<53 + 3))}),
		"an integer at 2^53":   testPlan(int64(1 << 53)),
		"a summary not UTF-8":  invalid,
		"a source not UTF-8":   badName,
		"an unknown Go type":   testPlan(float32(0.1)),
		"nested past 2^53":     testPlan(map[string]any{"a": []any{map[string]any{"b": int64(1 << 60)}}}),
	} {
		want := roundTripHashed(t, p)
		got, err := planEncoding(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: WritePlan hashes\n%s\nwhere a reader encodes\n%s", name, got, want)
			continue
		}
		path := filepath.Join(t.TempDir(), "plan.json")
		if err := WritePlan(path, p); err != nil {
			t.Fatal(err)
		}
		read, err := ReadPlan(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		read.ContentHash = ""
		if again, _ := json.Marshal(read); !bytes.Equal(again, want) {
			t.Errorf("%s: read back as\n%s\nnot\n%s", name, again, want)
		}
	}
}

// ReadPlan takes a plan WritePlan wrote, and one in another layout (the
// hash amid the fields, as pipectl wrote it before 1a448fa; compacted):
// what it checks is the content, and any of them edited is refused.
func TestReadPlanChecksEveryLayout(t *testing.T) {
	p := testPlan(int64(7))
	dir := t.TempDir()
	current := filepath.Join(dir, "current.json")
	if err := WritePlan(current, p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(current)
	normal := *p
	normal.ContentHash = hashOf(roundTripHashed(t, p))
	older, _ := json.MarshalIndent(&normal, "", "  ") // the hash amid the fields
	var compact bytes.Buffer
	_ = json.Compact(&compact, b)
	layouts := map[string][]byte{"current": b, "older": append(older, '\n'), "compacted": compact.Bytes()}
	want, _ := ReadPlan(current)
	for name, file := range layouts {
		path := filepath.Join(dir, name+".json")
		os.WriteFile(path, file, 0o600)
		got, err := ReadPlan(path)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s layout: %v\n%+v", name, err, got)
		}
		edited := strings.Replace(string(file), `"do nothing"`, `"do something"`, 1)
		if edited == string(file) {
			t.Fatalf("%s: the edit changed nothing", name)
		}
		os.WriteFile(path, []byte(edited), 0o600)
		if _, err := ReadPlan(path); err == nil || !strings.Contains(err.Error(), "was modified after pipectl saved it") {
			t.Errorf("%s layout, edited: %v", name, err)
		}
	}
}
