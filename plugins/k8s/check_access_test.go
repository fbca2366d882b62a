package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

func permissions(rules ...map[string]any) cty.Value {
	vals := make([]cty.Value, len(rules))
	for i, r := range rules {
		vals[i] = cfg(r)
	}
	return cty.TupleVal(vals)
}

func TestCheckAccessAsAdmin(t *testing.T) {
	env, p := sandbox(t)
	run := p.Apply("check_access", cfg(map[string]any{
		"namespace": env.Namespace,
		"permissions": permissions(
			map[string]any{"resource": "deployments", "verbs": []string{"get", "list", "create", "update", "patch"}},
			map[string]any{"resource": "secrets", "verbs": []string{"get", "list"}},
		),
	}))
	run.RequireSuccess(t)
	if v := run.Output("server_version").AsString(); v != "v1.37.2" {
		t.Errorf("server_version %q, want v1.37.2", v)
	}
	if n, _ := run.Output("checked").AsBigFloat().Int64(); n != 7 {
		t.Errorf("checked %d, want 7", n)
	}
}

// A ServiceAccount that may only read pods is refused everything else, and
// the error lists every missing permission at once.
func TestCheckAccessListsEveryMissingPermission(t *testing.T) {
	t.Parallel()
	env := sandboxtest.Cluster(t)
	kubeconfig := limitedServiceAccount(t, env, "reader", []string{"get", "list"}, "pods")
	p := start(t, map[string]any{"kubeconfig": kubeconfig})
	run := p.Apply("check_access", cfg(map[string]any{
		"namespace": env.Namespace,
		"permissions": permissions(
			map[string]any{"resource": "pods", "verbs": []string{"get", "list", "delete"}},
			map[string]any{"resource": "deployments", "verbs": []string{"get", "create"}},
		),
	}))
	text := requireFailure(t, run, "system:serviceaccount:"+env.Namespace+":reader", "3 things",
		"delete pods", "get deployments.apps", "create deployments.apps")
	if contains(text, "get pods") || contains(text, "list pods") {
		t.Errorf("the error lists allowed permissions:\n%s", text)
	}
}

func TestCheckAccessUnknownResource(t *testing.T) {
	env, p := sandbox(t)
	run := p.Apply("check_access", cfg(map[string]any{
		"namespace":   env.Namespace,
		"permissions": permissions(map[string]any{"resource": "deploymentz", "verbs": []string{"get"}}),
	}))
	requireFailure(t, run, `Unknown resource "deploymentz"`)
	if got := run.Diagnostics[0].Attribute; len(got) != 3 {
		t.Errorf("diagnostic not on permissions[0].resource: %#v", got)
	}
}

// limitedServiceAccount creates a ServiceAccount allowed only verbs on
// resource in the test's namespace, and a kubeconfig with its token.
func limitedServiceAccount(t *testing.T, env *sandboxtest.Env, name string, verbs []string, resources ...string) string {
	t.Helper()
	ctx, ns := t.Context(), env.Namespace
	core, rbac := env.Client.CoreV1(), env.Client.RbacV1()
	if _, err := core.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: resources, Verbs: verbs}}}
	if _, err := rbac.Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}}
	if _, err := rbac.RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := core.ServiceAccounts(ns).CreateToken(ctx, name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return writeKubeconfig(t, env, tok.Status.Token)
}

func writeKubeconfig(t *testing.T, env *sandboxtest.Env, token string) string {
	t.Helper()
	c := clientcmdapi.NewConfig()
	c.Clusters["sandbox"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.TLSClientConfig.CAData}
	c.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: token}
	c.Contexts["sa"] = &clientcmdapi.Context{Cluster: "sandbox", AuthInfo: "sa", Namespace: env.Namespace}
	c.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*c, path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}
