// Package sdk is the Go SDK for pipectl plugins: a plugin is an executable
// whose main calls Serve with its actions; pipectl starts it, asks for its
// schema, and calls Plan and Apply over gRPC (see docs/plugins.md, and
// examples/plugins/greeter for a complete plugin).
//
//	func main() {
//		sdk.Serve(sdk.Plugin{Name: "greeter", Version: version,
//			Actions: map[string]sdk.Action{"greet": greet{}}})
//	}
//
//	var _ sdk.ActionWithValidateConfig = greet{} // capabilities, checked at compile time
//
// An action publishes a Schema (its config's attributes and nested blocks,
// its outputs, each with a Description that `pipectl plugins show` and
// `pipectl plugins docs` print); the SDK checks every config against it
// before the action sees it, and runs the action's ValidateConfig before
// its Plan and Apply.
//
// # Config values
//
// req.Decode(&cfg) decodes a config into a struct with `cty:"name"` tags;
// resp.SetOutputs(out) (Encode) is its mirror for outputs. A single value
// may be null (an optional attribute not set), unknown (in ValidateConfig
// and Plan: it depends on a step not yet applied) and marked Sensitive;
// cty panics on most operations on such values (AsString on a null, an
// unknown or a marked string; GetAttr on a null object). These helpers
// never panic, and take a path of attribute names into nested objects:
//
//	name, ok := sdk.KnownString(req.Config, "name")         // set and known
//	n, ok := sdk.KnownInt(req.Config, "retry", "attempts")  // in a nested block
//	v := sdk.Lookup(req.Config, "retry", "interval")        // the cty.Value, marks kept
//	if sdk.IsSensitive(req.Config.GetAttr("token")) { ... } // before showing it
//	resp.Summary = "deploy " + sdk.Display(req.Config.GetAttr("image"))
//
// Decode and the Known helpers drop the sensitive mark: a secret read into
// a Go string looks like any other. Check IsSensitive (or use Display)
// before a value goes into a Summary, a Change, an event or a diagnostic.
//
// Durations are strings ("30s"): ValidateDuration in ValidateConfig, then
// DurationOr anywhere after. Waits use Sleep, which honours cancellation.
// Diagnostics point at attributes with cty.GetAttrPath or AttrPath.
//
// # Testing
//
// Package sdk/plugintest builds a plugin and drives it as a real
// subprocess, with configs written in HCL as a pipeline writes them.
package sdk
