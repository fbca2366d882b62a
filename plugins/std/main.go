// Command pipectl-plugin-std is pipectl's standard plugin: generic actions
// every pipeline needs (run a command, check an HTTP endpoint, notify a
// webhook, render a file, wait) and noop for tests and benchmarks.
package main

import (
	"os"
	"runtime"

	"github.com/pipectl/pipectl/sdk"
)

// What each action can do, checked at compile time: an action that lost
// its ValidateConfig (a typo in the signature) would silently skip its checks.
var (
	_ sdk.ActionWithValidateConfig = execAction{}
	_ sdk.ActionWithValidateConfig = httpCheck{}
	_ sdk.ActionWithValidateConfig = webhook{}
	_ sdk.ActionWithValidateConfig = render{}
	_ sdk.ActionWithValidateConfig = sleep{}
	_ sdk.Action                   = noop{}
)

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	// std's actions wait: on processes, the network, a timer. One thread
	// runs its Go code: with more, the scheduler wakes and parks threads
	// around every call, CPU taken from pipectl on the same cores (10% of
	// plan + apply of 10,000 no-op steps on 2 cores). $GOMAXPROCS wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	defaults := &settings{}
	sdk.Serve(sdk.Plugin{
		Name:      "std",
		Version:   version,
		Settings:  settingsSchema,
		Configure: defaults.configure,
		Actions: map[string]sdk.Action{
			"exec":       execAction{defaults},
			"http_check": httpCheck{},
			"webhook":    webhook{},
			"render":     render{},
			"sleep":      sleep{},
			"noop":       noop{},
		},
	})
}
