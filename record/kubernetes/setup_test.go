package kubernetes

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// backend setup creates the namespace and the Roles, says so, is
// idempotent, and refuses a namespace that holds Secrets of others.
func TestSetup(t *testing.T) {
	env := sandboxtest.Cluster(t)
	ctx := context.Background()
	fresh := env.Namespace + "-backend"
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), fresh, metav1.DeleteOptions{})
	})
	c, err := Connect(Config{Namespace: fresh, Rest: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Setup(ctx, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"created  namespace/" + fresh, "created  role/pipectl-runner", "created  role/pipectl-reader", "created  role/pipectl-approver", "created  role/pipectl-approve ",
		"validatingadmissionpolicy/pipectl.dev-votes: failurePolicy Fail", "object.data.approver == request.userInfo.username",
		"check('approve')", "validatingadmissionpolicybinding/pipectl.dev-votes: validationActions [Deny]", "create rolebinding pipectl-approve --role=pipectl-approve"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("setup does not say %q:\n%s", want, out.String())
		}
	}
	role, err := env.Client.RbacV1().Roles(fresh).Get(ctx, "pipectl-runner", metav1.GetOptions{})
	if err != nil || len(role.Rules) != 4 {
		t.Fatalf("the runner role: %v, %v", role, err)
	}
	if err := New(c, "shop", t.TempDir()).Init(); err != nil { // the backend's own Secret
		t.Fatal(err)
	}
	out.Reset()
	if err := c.Setup(ctx, &out); err != nil || !strings.Contains(out.String(), "kept     namespace/") {
		t.Errorf("setup again: %v\n%s", err, out.String())
	}

	_, err = env.Client.CoreV1().Secrets(env.Namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shared, _ := Connect(Config{Namespace: env.Namespace, Rest: env.Config})
	if err := shared.Setup(ctx, &out); err == nil || !strings.Contains(err.Error(), "db-password") {
		t.Errorf("a namespace holding another Secret: %v, want a refusal naming it", err)
	}
}

// A kubeconfig path in the backend block is read as the k8s plugin reads
// it: ~/ is the home directory.
func TestConnectExpandsHome(t *testing.T) {
	env := sandboxtest.Cluster(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	b, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "ci.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Connect(Config{Namespace: env.Namespace, Kubeconfig: "~/ci.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if err := New(c, "shop", t.TempDir()).Init(); err != nil {
		t.Errorf("a backend through ~/ci.yaml: %v", err)
	}
	if _, err := Connect(Config{Namespace: env.Namespace, Kubeconfig: "~/missing.yaml"}); err == nil || !strings.Contains(err.Error(), "kubeconfig ~/missing.yaml") {
		t.Errorf("a missing kubeconfig: %v", err)
	}
}
