package sdk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// A config as actions get it: nulls, unknowns and marks mixed.
var awkward = cty.ObjectVal(map[string]cty.Value{
	"name":    cty.StringVal("web"),
	"token":   cty.StringVal("s3cret").Mark(Sensitive),
	"later":   cty.UnknownVal(cty.String),
	"unset":   cty.NullVal(cty.String),
	"count":   cty.NumberIntVal(3),
	"ratio":   cty.NumberFloatVal(1.5),
	"enabled": cty.True.Mark(Sensitive),
	"retry":   cty.ObjectVal(map[string]cty.Value{"interval": cty.StringVal("2s"), "attempts": cty.NumberIntVal(4)}),
	"absent":  cty.NullVal(cty.Object(map[string]cty.Type{"interval": cty.String})),
	"pending": cty.UnknownVal(cty.Object(map[string]cty.Type{"interval": cty.String})),
	"secret":  cty.ObjectVal(map[string]cty.Value{"user": cty.StringVal("ada")}).Mark(Sensitive),
	"labels":  cty.MapVal(map[string]cty.Value{"team": cty.StringVal("alpha")}),
})

func TestKnownHelpersNeverPanic(t *testing.T) {
	cases := []struct {
		names  []string
		want   string
		wantOK bool
	}{
		{[]string{"name"}, "web", true},
		{[]string{"token"}, "s3cret", true}, // marked: readable, the mark is dropped
		{[]string{"later"}, "", false},
		{[]string{"unset"}, "", false},
		{[]string{"count"}, "3", true}, // converts
		{[]string{"retry", "interval"}, "2s", true},
		{[]string{"absent", "interval"}, "", false},
		{[]string{"pending", "interval"}, "", false},
		{[]string{"secret", "user"}, "ada", true},
		{[]string{"labels", "team"}, "alpha", true},
		{[]string{"labels", "nope"}, "", false},
		{[]string{"nope"}, "", false},
		{[]string{"name", "deeper"}, "", false},
	}
	for _, c := range cases {
		got, ok := KnownString(awkward, c.names...)
		if got != c.want || ok != c.wantOK {
			t.Errorf("KnownString(%v) = %q, %v; want %q, %v", c.names, got, ok, c.want, c.wantOK)
		}
	}
	if _, ok := KnownString(cty.NilVal, "x"); ok {
		t.Error("NilVal")
	}
	if _, ok := KnownString(cty.DynamicVal, "x"); ok {
		t.Error("DynamicVal")
	}
	if b, ok := KnownBool(awkward, "enabled"); !b || !ok {
		t.Errorf("KnownBool = %v, %v", b, ok)
	}
	if n, ok := KnownInt(awkward, "retry", "attempts"); n != 4 || !ok {
		t.Errorf("KnownInt = %v, %v", n, ok)
	}
	if _, ok := KnownInt(awkward, "ratio"); ok {
		t.Error("1.5 is not an int")
	}
	if _, ok := KnownInt(awkward, "name"); ok {
		t.Error(`"web" is not an int`)
	}
}

func TestLookupKeepsMarksOfTheWayIn(t *testing.T) {
	if v := Lookup(awkward, "secret", "user"); !v.HasMark(Sensitive) {
		t.Errorf("a part of a sensitive object lost its mark: %#v", v)
	}
	if v := Lookup(awkward, "pending", "interval"); v.IsKnown() {
		t.Errorf("an attribute of an unknown object is known: %#v", v)
	}
	if v := Lookup(awkward, "absent", "interval"); !v.IsNull() {
		t.Errorf("an attribute of a null object is not null: %#v", v)
	}
	if v := Lookup(awkward); !v.RawEquals(awkward) {
		t.Error("Lookup without names is not the value")
	}
}

func TestIsSensitive(t *testing.T) {
	for name, want := range map[string]bool{"name": false, "token": true, "secret": true, "later": false} {
		if got := IsSensitive(awkward.GetAttr(name)); got != want {
			t.Errorf("IsSensitive(%s) = %v", name, got)
		}
	}
	if !IsSensitive(awkward) {
		t.Error("an object with a sensitive attribute is sensitive")
	}
	if IsSensitive(cty.NilVal) || IsSensitive(cty.StringVal("x").Mark("other")) {
		t.Error("only the sensitive mark counts")
	}
}

func TestDisplay(t *testing.T) {
	cases := map[string]string{
		"name":   "web",
		"token":  "(sensitive)",
		"secret": "(sensitive)",
		"later":  "(known after apply)",
		"unset":  "null",
		"count":  "3",
		"retry":  `{"attempts":4,"interval":"2s"}`,
		"labels": `{"team":"alpha"}`,
	}
	for name, want := range cases {
		if got := Display(awkward.GetAttr(name)); got != want {
			t.Errorf("Display(%s) = %q, want %q", name, got, want)
		}
	}
	if got := Display(cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)})); got != "(known after apply)" {
		t.Errorf("a partly unknown list: %q", got)
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"500ms": 500 * time.Millisecond, " 2m ": 2 * time.Minute, "0s": 0} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "5", "-1s", "soon"} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), `"30s"`) {
			t.Errorf("ParseDuration(%q): %v", in, err)
		}
	}
	if DurationOr("", time.Second) != time.Second || DurationOr("bad", time.Second) != time.Second || DurationOr("3s", 0) != 3*time.Second {
		t.Error("DurationOr")
	}
	cfg := cty.ObjectVal(map[string]cty.Value{
		"ok":    cty.StringVal("1s"),
		"bad":   cty.StringVal("forever"),
		"later": cty.UnknownVal(cty.String),
		"unset": cty.NullVal(cty.String),
		"retry": cty.ObjectVal(map[string]cty.Value{"interval": cty.StringVal("-2s")}),
	})
	var diags Diagnostics
	for _, path := range [][]string{{"ok"}, {"bad"}, {"later"}, {"unset"}, {"retry", "interval"}} {
		ValidateDuration(&diags, cfg, path...)
	}
	if len(diags) != 2 || diags[0].Error() != `error in bad: Invalid duration "forever": Use a positive Go duration such as "500ms", "30s" or "2m".` ||
		FormatPath(diags[1].Attribute) != "retry.interval" {
		t.Errorf("diagnostics: %v", diags)
	}
}

func TestSleepHonoursCancellation(t *testing.T) {
	if err := Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("a short sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(10*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { done <- Sleep(ctx, time.Hour) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Sleep did not return when its context was cancelled")
	}
}

func TestAttributeWarning(t *testing.T) {
	var diags Diagnostics
	diags.AddAttributeWarning(AttrPath("retry", "attempts"), "Many attempts", "Fewer would do.")
	if diags.HasErrors() || diags[0].Error() != "warning in retry.attempts: Many attempts: Fewer would do." {
		t.Errorf("got %v", diags)
	}
}
