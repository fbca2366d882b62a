package sdk

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Helpers to read config values without panics: see the package doc.

// AttrPath is the path of a (nested) attribute, for diagnostics:
// AttrPath("retry", "attempts") is retry.attempts. For one name it is
// cty.GetAttrPath(name).
func AttrPath(names ...string) cty.Path {
	path := make(cty.Path, 0, len(names))
	for _, n := range names {
		path = path.GetAttr(n)
	}
	return path
}

// Lookup follows attribute names into nested objects. Where cty's GetAttr
// panics it does not: a null object (an absent nested block) or one without
// the attribute gives a null, an unknown object an unknown. Marks of the
// objects on the way are kept on the result, so a part of a sensitive
// object stays sensitive. With no names it returns v.
func Lookup(v cty.Value, names ...string) cty.Value {
	for _, name := range names {
		uv, marks := v.Unmark()
		switch {
		case uv == cty.NilVal || uv.IsNull():
			return cty.NullVal(cty.DynamicPseudoType).WithMarks(marks)
		case !uv.IsKnown():
			return cty.DynamicVal.WithMarks(marks)
		case uv.Type().IsObjectType() && uv.Type().HasAttribute(name):
			v = uv.GetAttr(name).WithMarks(marks)
		case uv.Type().IsMapType() && uv.HasIndex(cty.StringVal(name)).True():
			v = uv.Index(cty.StringVal(name)).WithMarks(marks)
		default:
			return cty.NullVal(cty.DynamicPseudoType).WithMarks(marks)
		}
	}
	return v
}

// known is the value at names, unmarked and converted to ty, when it is
// set, wholly known and of that type.
func known(v cty.Value, ty cty.Type, names []string) (cty.Value, bool) {
	v, _ = Lookup(v, names...).UnmarkDeep()
	if v.IsNull() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	v, err := convert.Convert(v, ty)
	if err != nil || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

// KnownString is the string at names when it is set and known: ok is false
// for a null or unknown value (or one that does not convert to a string). It never
// panics, and it drops the sensitive mark: see IsSensitive.
func KnownString(v cty.Value, names ...string) (s string, ok bool) {
	if v, ok = known(v, cty.String, names); ok {
		s = v.AsString()
	}
	return s, ok
}

// KnownBool is the bool at names when it is set and known; see KnownString.
func KnownBool(v cty.Value, names ...string) (b bool, ok bool) {
	if v, ok = known(v, cty.Bool, names); ok {
		b = v.True()
	}
	return b, ok
}

// KnownInt is the number at names when it is set, known and a whole number
// that fits an int64; see KnownString. To tell "not whole" from "not set",
// read it with Lookup.
func KnownInt(v cty.Value, names ...string) (n int64, ok bool) {
	cv, ok := known(v, cty.Number, names)
	if !ok {
		return 0, false
	}
	n, acc := cv.AsBigFloat().Int64()
	return n, acc == big.Exact
}

// IsSensitive reports whether v or any part of it is marked sensitive (by
// the pipeline, or by an attribute declared Sensitive). Such a value must
// not appear in a Summary, a Change, an event or a diagnostic.
func IsSensitive(v cty.Value) bool {
	if v == cty.NilVal {
		return false
	}
	if v.HasMark(Sensitive) {
		return true
	}
	_, paths := v.UnmarkDeepWithPaths()
	for _, p := range paths {
		if _, ok := p.Marks[Sensitive]; ok {
			return true
		}
	}
	return false
}

// Display renders a config value for a plan's Summary or Change without
// leaking a secret or panicking: "(sensitive)" when any part of it is
// sensitive, "(known after apply)" when any part is unknown, "null", a
// string as itself, anything else as JSON.
func Display(v cty.Value) string {
	switch {
	case v == cty.NilVal:
		return "null"
	case IsSensitive(v):
		return "(sensitive)"
	}
	v, _ = v.UnmarkDeep()
	switch {
	case !v.IsWhollyKnown():
		return "(known after apply)"
	case v.IsNull():
		return "null"
	case v.Type() == cty.String:
		return v.AsString()
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	return string(b)
}

// Sleep waits d, or until ctx is done: then it returns ctx's error at
// once. Every wait of an action (between polls of a rollout, between
// retries) must honour cancellation: use it rather than time.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ParseDuration parses a duration attribute: a Go duration such as "500ms",
// "30s", "2m" or "1h30m", not negative. Its error says how to write one.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, fmt.Errorf(`invalid duration %q: use a positive Go duration such as "500ms", "30s" or "2m"`, s)
	}
	return d, nil
}

// ValidateDuration adds an error on the attribute at names when it is set
// and known but not a valid duration (see ParseDuration). Call it from
// ValidateConfig: the SDK runs ValidateConfig before Plan and Apply, which
// can then read the value with DurationOr.
func ValidateDuration(diags *Diagnostics, config cty.Value, names ...string) {
	s, ok := KnownString(config, names...)
	if !ok {
		return
	}
	if _, err := ParseDuration(s); err != nil {
		diags.AddAttributeError(AttrPath(names...), fmt.Sprintf("Invalid duration %q", s),
			`Use a positive Go duration such as "500ms", "30s" or "2m".`)
	}
}

// DurationOr is the duration s, or def when s is empty (an unset optional
// attribute) or invalid (which ValidateDuration has refused already).
func DurationOr(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := ParseDuration(s)
	if err != nil {
		return def
	}
	return d
}
