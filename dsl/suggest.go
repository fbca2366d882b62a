package dsl

// Suggest returns " Did you mean PREFIXname?" for the candidate closest to
// given, or "" when none is close: for callers outside dsl (the engine's
// action names) to phrase suggestions the same way.
func Suggest(given string, candidates []string, prefix string) string {
	return suggest(given, candidates, prefix)
}
