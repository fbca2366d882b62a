package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// `pipectl-sandbox user` makes an identity the API server authenticates
// (its name and groups, as `kubectl auth whoami` says), which RBAC grants
// nothing until bound; and the API server enforces a ValidatingAdmission
// Policy: one installed here denies what it should, for that user.
func TestUserAndAdmissionPolicy(t *testing.T) {
	bin := binary(t)
	st := up(t, bin)
	admin := client(t, st)
	ctx := context.Background()

	r := run(t, bin, "user", "alice", "--group", "release-managers", "--group", "oncall", "--dir", st.Dir)
	if r.code != 0 {
		t.Fatalf("user exited %d: %s", r.code, r.stderr)
	}
	path := strings.TrimSpace(r.stdout)
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := alice.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := review.Status.UserInfo; u.Username != "alice" || !hasString(u.Groups, "release-managers") || !hasString(u.Groups, "oncall") || hasString(u.Groups, "system:masters") {
		t.Fatalf("alice is %+v", u)
	}
	cm := func(label string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Labels: map[string]string{"tier": label}}}
	}
	if _, err := alice.CoreV1().ConfigMaps("default").Create(ctx, cm("any"), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice without a binding created a ConfigMap: %v", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "cm-writer"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}}}}
	if _, err := admin.RbacV1().Roles("default").Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cm-writer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "cm-writer"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "release-managers"}}}
	if _, err := admin.RbacV1().RoleBindings("default").Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "no-frozen-configmaps"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}},
			Validations: []admissionv1.Validation{{Expression: "!has(object.metadata.labels) || !('tier' in object.metadata.labels) || object.metadata.labels['tier'] != 'frozen'",
				Message: "frozen configmaps are refused"}},
		}}
	if _, err := admin.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the API server has no ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1): %v", err)
	}
	vb := &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "no-frozen-configmaps"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "no-frozen-configmaps",
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}}}
	if _, err := admin.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, vb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The policy takes effect once the API server has read it: a second or so.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := alice.CoreV1().ConfigMaps("default").Create(ctx, cm("frozen"), metav1.CreateOptions{})
		if err != nil && strings.Contains(err.Error(), "frozen configmaps are refused") && apierrors.IsInvalid(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policy did not deny alice's frozen ConfigMap: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := alice.CoreV1().ConfigMaps("default").Create(ctx, cm("thawed"), metav1.CreateOptions{}); err != nil {
		t.Errorf("the policy, or RBAC, refused what they allow: %v", err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "--dir", st.Dir}, "name the user"},
		{[]string{"user", "root", "--group", "system:masters", "--dir", st.Dir}, "system:masters passes every authorization check"},
	} {
		if r := run(t, bin, c.args...); r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, %s; want a refusal saying %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
