// Command pipectl-plugin-trivy is pipectl's trivy plugin: vulnerability
// scans of images, misconfiguration scans of charts and manifests, and
// secret scans of directories, each a gate that fails the step on the
// severities it is given. It runs a pinned trivy binary (see
// docs/plugins/trivy.md and docs/architecture.md for why).
package main

import (
	"context"

	"github.com/zclconf/go-cty/cty"

	"github.com/pipectl/pipectl/sdk"
)

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	p := &plugin{}
	sdk.Serve(sdk.Plugin{
		Name:     "trivy",
		Version:  version,
		Settings: &settingsSchema,
		Configure: func(_ context.Context, req sdk.ConfigureRequest, resp *sdk.ConfigureResponse) {
			var s pluginSettings
			if err := req.Decode(&s); err != nil {
				resp.Diagnostics.AddError("Invalid trivy plugin settings", err.Error())
				return
			}
			if s.MaxDBAge != "" {
				if _, err := parseAge(s.MaxDBAge); err != nil {
					resp.Diagnostics.AddAttributeError(cty.GetAttrPath("max_db_age"), "Invalid max_db_age", err.Error())
					return
				}
			}
			p.configure(s)
		},
		Actions: map[string]sdk.Action{
			"image":  &imageScan{p},
			"config": &configScan{p},
			"secret": &secretScan{p},
		},
	})
}
