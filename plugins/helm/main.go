// Command pipectl-plugin-helm is pipectl's Helm plugin: lint, template,
// install or upgrade with a manifest diff in the plan and live readiness
// progress, rollback, test and status, built on the Helm SDK
// (helm.sh/helm/v3) — never a helm binary. See docs/plugins/helm.md.
//
//	plugin "helm" {
//	  kubeconfig          = "~/.kube/config" # default: $KUBECONFIG, else ~/.kube/config
//	  registry_plain_http = true             # a local OCI registry
//	}
//
//	step "release" {
//	  action    = helm.upgrade
//	  release   = "alpha-members"
//	  chart     = "./alpha-members"
//	  namespace = "production"
//	  atomic    = true
//	}
package main

import (
	"context"

	"github.com/pipectl/pipectl/sdk"
)

var version = "0.1.0"

func main() {
	env := newHelmEnv()
	sdk.Serve(sdk.Plugin{
		Name:     "helm",
		Version:  version,
		Settings: settingsSchema(),
		Configure: func(ctx context.Context, req sdk.ConfigureRequest, resp *sdk.ConfigureResponse) {
			var s settings
			if err := req.Decode(&s); err != nil {
				resp.Diagnostics.AddError("Invalid helm plugin settings", err.Error())
				return
			}
			if err := env.configure(s); err != nil {
				resp.Diagnostics.AddAttributeError(attr("kubeconfig"), "Invalid helm plugin settings", err.Error())
			}
		},
		Actions: map[string]sdk.Action{
			"lint":     lint{env},
			"template": template{env},
			"upgrade":  upgrade{env},
			"rollback": rollback{env},
			"test":     test{env},
			"status":   statusAction{env},
		},
	})
}
