// Command pipectl-plugin-k8s is pipectl's Kubernetes plugin: cluster checks
// before a deploy (access, secrets, capacity), watching a rollout and its
// pods, server-side apply, Pod Security Standards and diagnosis after a
// failure. It talks to the cluster with client-go, found as kubectl finds it.
package main

import "github.com/pipectl/pipectl/sdk"

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() { sdk.Serve(newPlugin()) }

func newPlugin() sdk.Plugin {
	c := &cluster{}
	return sdk.Plugin{
		Name:      "k8s",
		Version:   version,
		Settings:  settingsBlock,
		Configure: c.configure,
		Actions: map[string]sdk.Action{
			"check_access":   checkAccess{c},
			"secrets_exist":  secretsExist{c},
			"rollout_status": rolloutStatus{c},
			"wait_ready":     waitReady{c},
			"endpoints":      endpoints{c},
			"no_restarts":    noRestarts{c},
			"diagnose":       diagnose{c},
			"capacity":       capacity{c},
			"pod_security":   podSecurity{c},
			"apply":          applyAction{c},
			"exists":         exists{c},
		},
	}
}
