package kubernetes

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pipectl/pipectl/internal/sandboxtest"
	"github.com/pipectl/pipectl/record"
	"github.com/pipectl/pipectl/record/backendtest"
)

// The record layer's contract, against the sandbox's API server: each
// subtest gets a namespace of its own, set up (the votes' policy), and
// Leases of 2 s so that a killed holder's Lease expires within the test.
// Each answer is given with its user's own credentials, a user the
// sandbox's CA signs and a RoleBinding lets approve.
func TestContract(t *testing.T) {
	var env *sandboxtest.Env
	users := map[string]record.Backend{}
	backendtest.RunAs(t, func(t *testing.T) record.Backend {
		env = sandboxtest.Cluster(t)
		setUpVotes(t, env)
		c, err := Connect(Config{Namespace: env.Namespace, Rest: env.Config, LeaseDuration: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return New(c, "contract", t.TempDir())
	}, func(t *testing.T, b record.Backend, user string) record.Backend {
		key := env.Namespace + "/" + user
		if users[key] == nil {
			c, err := Connect(Config{Namespace: env.Namespace, Rest: approver(t, env, user, "*")})
			if err != nil {
				t.Fatal(err)
			}
			users[key] = New(c, "contract", t.TempDir())
		}
		return users[key]
	})
}

// setUpVotes runs backend setup in the test's namespace and waits until
// the API server enforces the votes' policy (it reads policies a moment
// after they are written) and votes are trusted.
func setUpVotes(t *testing.T, env *sandboxtest.Env) {
	t.Helper()
	c, err := Connect(Config{Namespace: env.Namespace, Rest: env.Config})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Setup(context.Background(), &out); err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Labels: map[string]string{labelKind: kindVote}},
		Data: map[string]string{voteApprover: "nobody", voteEnvironment: "prod"}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := env.Client.CoreV1().ConfigMaps(env.Namespace).Create(context.Background(), probe, metav1.CreateOptions{})
		if err != nil && strings.Contains(err.Error(), "a vote names its approver") {
			// Votes are trusted from policySettle after the policy's last change.
			since, err := c.checkPolicy(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Until(since.Add(policySettle + 10*time.Millisecond)))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the votes' policy is not enforced 30 s after setup: a vote naming nobody, by the admin: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// approver is the client configuration of user (in groups), bound in the
// test's namespace to the pipectl-approver Role and to a Role granting
// approve on approvals.pipectl.dev for environment env ("*": every one),
// once the API server authorizes it.
func approver(t *testing.T, e *sandboxtest.Env, user, env string, groups ...string) *rest.Config {
	t.Helper()
	_, cfg := e.User(t, user, groups...)
	bindUser(t, e, user, "pipectl-approver")
	rule := rbacv1.PolicyRule{APIGroups: []string{"pipectl.dev"}, Resources: []string{"approvals"}, Verbs: []string{"approve"}}
	if env != "*" {
		rule.ResourceNames = []string{env}
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "approve-" + user}, Rules: []rbacv1.PolicyRule{rule}}
	if _, err := e.Client.RbacV1().Roles(e.Namespace).Create(context.Background(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bindUser(t, e, user, role.Name)
	waitAllowed(t, cfg, e.Namespace, "approve", "pipectl.dev", "approvals", env)
	return cfg
}

// bindUser binds role to user in the test's namespace.
func bindUser(t *testing.T, e *sandboxtest.Env, user, role string) {
	t.Helper()
	b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role + "-" + user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
	if _, err := e.Client.RbacV1().RoleBindings(e.Namespace).Create(context.Background(), b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitAllowed waits until the API server authorizes cfg's user to verb
// the resource (RBAC reads bindings a moment after they are written).
func waitAllowed(t *testing.T, cfg *rest.Config, ns, verb, group, resource, name string) {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if name == "*" {
		name = ""
	}
	review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
		Namespace: ns, Verb: verb, Group: group, Resource: resource, Name: name}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), review, metav1.CreateOptions{})
		if err == nil && r.Status.Allowed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s.%s %s in %s: not allowed 30 s after the binding: %v", verb, resource, group, name, ns, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
