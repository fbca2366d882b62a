package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// show renders a config value for a plan's text without leaking secrets.
func show(v cty.Value) string {
	switch {
	case v.HasMark(sdk.Sensitive):
		return "(sensitive)"
	case !v.IsKnown():
		return "(known after apply)"
	case v.IsNull():
		return "(null)"
	case v.Type() == cty.String:
		return v.AsString()
	}
	return fmt.Sprintf("%#v", v)
}

// attr is the config attribute name, for diagnostics.
func attr(name string) cty.Path { return cty.GetAttrPath(name) }

// checkDuration validates an optional duration attribute that may be unknown.
func checkDuration(config cty.Value, name string, diags *sdk.Diagnostics) {
	v, _ := config.GetAttr(name).Unmark()
	if !v.IsKnown() || v.IsNull() {
		return
	}
	if d, err := time.ParseDuration(v.AsString()); err != nil || d < 0 {
		diags.AddAttributeError(attr(name), fmt.Sprintf("Invalid duration %q", v.AsString()),
			`Use a positive Go duration such as "500ms", "30s" or "2m".`)
	}
}

// durationOr parses a duration that ValidateConfig already checked.
func durationOr(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return def
}

// sleepCtx waits d or until ctx is done, whichever comes first.
func sleepCtx(ctx interface{ Done() <-chan struct{} }, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// knownString is the string value of an attribute when it is known and set.
func knownString(config cty.Value, name string) (string, bool) {
	v, _ := config.GetAttr(name).Unmark()
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// lastLines keeps the tail of an output for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
