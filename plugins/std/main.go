// Command pipectl-plugin-std is pipectl's standard plugin: generic actions
// every pipeline needs (run a command, check an HTTP endpoint, notify a
// webhook, render a file, wait) and noop for tests and benchmarks.
package main

import (
	"github.com/pipectl/pipectl/internal/version"
	"github.com/pipectl/pipectl/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "std",
		Version: version.Version,
		Actions: map[string]sdk.Action{
			"exec":       execAction{},
			"http_check": httpCheck{},
			"webhook":    webhook{},
			"render":     render{},
			"sleep":      sleep{},
			"noop":       noop{},
		},
	})
}
