package main

import "strings"

// Reading config values (sdk.KnownString, sdk.Display, sdk.IsSensitive),
// attribute paths (cty.GetAttrPath, sdk.AttrPath), durations
// (sdk.ValidateDuration, sdk.DurationOr) and waits (sdk.Sleep) come from
// the SDK; what is left here is std's own.

// lastLines keeps the tail of an output for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
