package main

import (
	"strings"
	"time"
)

// Reading config values (sdk.KnownString, sdk.Display, sdk.IsSensitive),
// attribute paths (cty.GetAttrPath, sdk.AttrPath) and durations
// (sdk.ValidateDuration, sdk.DurationOr) come from the SDK; what is left
// here is std's own.

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

// lastLines keeps the tail of an output for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
