package main

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// Without settings the plugin finds the cluster as kubectl does: here
// through $KUBECONFIG.
func TestSettingsUnsetFindsTheClusterLikeKubectl(t *testing.T) {
	env := sandboxtest.Cluster(t)
	t.Setenv("KUBECONFIG", env.Kubeconfig)
	p := start(t, map[string]any{})
	run := p.Apply("check_access", cfg(map[string]any{"namespace": env.Namespace}))
	run.RequireSuccess(t)
}

// The context setting picks a context other than the current one, and
// the namespace setting is the namespace of steps that name none.
func TestSettingsContextAndNamespace(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Cluster(t)
	kubeconfig := twoContexts(t, env)
	broken := start(t, map[string]any{"kubeconfig": kubeconfig})
	requireFailure(t, broken.Apply("check_access", cfg(map[string]any{})), "The cluster does not answer", "127.0.0.1:1")

	p := start(t, map[string]any{"kubeconfig": kubeconfig, "context": "sandbox", "namespace": env.Namespace, "qps": 20, "burst": 40})
	requireFailure(t, p.Apply("secrets_exist", cfg(map[string]any{"names": []string{"absent"}})),
		"1 Secret missing or incomplete in namespace "+env.Namespace)
}

func TestSettingsInvalid(t *testing.T) {
	p := plugintest.Start(t, pluginBin)
	diags, err := p.Configure(t.Context(), cfg(map[string]any{"qps": -1, "burst": 10, "kubeconfig": "/nonexistent/kubeconfig"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(diags) != 2 || !diags[0].Attribute.Equals(attr("kubeconfig")) || !strings.Contains(diags[0].Detail, "/nonexistent/kubeconfig") ||
		!diags[1].Attribute.Equals(attr("qps")) {
		t.Fatalf("want errors on kubeconfig and qps, got %v", diags)
	}
	// Every step then fails with the settings' errors.
	if run := p.Apply("check_access", cfg(map[string]any{})); !run.Diagnostics.HasErrors() {
		t.Error("a step ran with invalid settings")
	}
}

// No kubeconfig anywhere: every step says where it looked.
func TestSettingsNoKubeconfigAnywhere(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	p := start(t, map[string]any{})
	requireFailure(t, p.Apply("check_access", cfg(map[string]any{})), "Cannot reach the Kubernetes cluster", "KUBECONFIG or ~/.kube/config")
}

// twoContexts writes a kubeconfig whose current context points nowhere
// and whose "sandbox" context is the sandbox.
func twoContexts(t *testing.T, env *sandboxtest.Env) string {
	t.Helper()
	c, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	real := c.Contexts[c.CurrentContext]
	c.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	c.Contexts["nowhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: real.AuthInfo}
	c.Contexts["sandbox"] = real
	c.CurrentContext = "nowhere"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*c, path); err != nil {
		t.Fatal(err)
	}
	return path
}
