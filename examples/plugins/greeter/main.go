// Command pipectl-plugin-greeter is a complete example plugin for pipectl:
// one action, greet, that composes a greeting for a deployment's audience.
// Read it with docs/plugins.md; test it with `go test` (sdk/plugintest).
//
//	plugin "greeter" {}
//
//	step "hello" {
//	  action = greeter.greet
//	  name   = "Alpha team"
//	  style  = "formal"
//	}
//	# step.hello.message == "Good day, Alpha team."
package main

import "github.com/pipectl/pipectl/sdk"

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "greeter",
		Version: "0.1.0",
		Actions: map[string]sdk.Action{"greet": greet{}},
	})
}
