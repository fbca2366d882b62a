package kubernetes

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Roles `pipectl backend setup` creates in the backend's namespace: what
// a runner needs (runs and locks), and what a reader needs (pipectl runs,
// runs show, logs -f: records only).
var roles = map[string][]rbacv1.PolicyRule{
	"pipectl-runner": {
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete", "deletecollection"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "create", "update"}},
		// Votes: read; written when the runner answers (apply -approve);
		// deleted by retention, which the policy admits from who may
		// delete the virtual resource votes.pipectl.dev.
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "delete", "deletecollection"}},
		{APIGroups: []string{"pipectl.dev"}, Resources: []string{"votes"}, Verbs: []string{"delete"}},
	},
	"pipectl-reader": {
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}},
	},
	// Writes votes and reads runs; the right to approve is a Role of its
	// own (verb approve on approvals.pipectl.dev), which the votes' policy
	// checks.
	"pipectl-approver": {
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create"}},
	},
	// The right to approve, in every environment of the namespace: the
	// verb approve on the virtual resource approvals.pipectl.dev, whose
	// resource names are environments (a Role with resourceNames limits
	// it). kubectl create role refuses the resource (nothing serves it),
	// so setup makes this one.
	"pipectl-approve": {
		{APIGroups: []string{"pipectl.dev"}, Resources: []string{"approvals"}, Verbs: []string{"approve"}},
	},
}

// policyReader lets everyone authenticated read the votes' policy and
// its binding (by name, nothing else): every runner and approver checks
// them before it trusts or writes a vote.
const policyReader = "pipectl-vote-policy-reader"

// Setup makes the backend's namespace and its Roles, saying on out what
// it creates. The namespace must hold nothing but pipectl's records: one
// that holds other Secrets is refused (the runner Role may read and
// delete every Secret of it).
func (c *Client) Setup(ctx context.Context, out io.Writer) error {
	if c.config.Rest == nil {
		return fmt.Errorf("not connected")
	}
	nss := c.core.Namespaces()
	_, err := nss.Get(ctx, c.ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns, Labels: map[string]string{labelManaged: managedBy}}}
		if _, err := nss.Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", c.ns, err)
		}
		fmt.Fprintf(out, "created  namespace/%s\n", c.ns)
	case err != nil:
		return fmt.Errorf("reading namespace %s: %w", c.ns, err)
	default:
		if err := c.onlyOurs(ctx); err != nil {
			return err
		}
		fmt.Fprintf(out, "kept     namespace/%s (it holds pipectl's records only)\n", c.ns)
	}
	rc, err := restClient(c.config.Rest, rbacv1.SchemeGroupVersion)
	if err != nil {
		return err
	}
	rbac := rbacClient{rc}
	for _, name := range slices.Sorted(maps.Keys(roles)) {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns, Labels: map[string]string{labelManaged: managedBy}},
			Rules: roles[name]}
		verb := "created"
		_, err := rbac.Roles(c.ns).Create(ctx, role, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			have, gerr := rbac.Roles(c.ns).Get(ctx, name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			have.Rules = role.Rules
			verb = "updated"
			_, err = rbac.Roles(c.ns).Update(ctx, have, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("writing role %s: %w", name, err)
		}
		fmt.Fprintf(out, "%-8s role/%s in %s\n", verb, name, c.ns)
	}
	if err := c.setUpPolicy(ctx, rbac, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "Bind them to who runs, reads and approves, and give approvers the right to approve, e.g.:\n"+
		"  kubectl -n %[1]s create rolebinding pipectl-runner --role=pipectl-runner --serviceaccount=ci:deployer\n"+
		"  kubectl -n %[1]s create rolebinding pipectl-reader --role=pipectl-reader --group=developers\n"+
		"  kubectl -n %[1]s create rolebinding pipectl-approver --role=pipectl-approver --group=release-managers\n"+
		"  kubectl -n %[1]s create rolebinding pipectl-approve --role=pipectl-approve --group=release-managers\n"+
		"pipectl-approve grants approving in every environment; a Role of yours with resourceNames limits it\n"+
		"(rules: apiGroups [pipectl.dev], resources [approvals], verbs [approve], resourceNames [prod]; see docs/backends.md).\n", c.ns)
	return nil
}

// setUpPolicy installs the votes' ValidatingAdmissionPolicy and its Deny
// binding, and lets everyone authenticated read them, saying what each
// holds.
func (c *Client) setUpPolicy(ctx context.Context, rbac rbacClient, out io.Writer) error {
	p := votePolicy()
	verb, err := upsert(ctx, c.admission.Policies(), p, func(have *admissionv1.ValidatingAdmissionPolicy) { have.Spec = p.Spec })
	if err != nil {
		return fmt.Errorf("writing the ValidatingAdmissionPolicy %s: %w", PolicyName, err)
	}
	fmt.Fprintf(out, "%-8s validatingadmissionpolicy/%s: failurePolicy Fail; CREATE, UPDATE, DELETE of ConfigMaps labelled %s=%s (votes) must pass:\n",
		verb, PolicyName, labelKind, kindVote)
	for _, v := range p.Spec.Validations {
		fmt.Fprintf(out, "           %s\n", v.Expression)
	}
	b := votePolicyBinding()
	verb, err = upsert(ctx, c.admission.Bindings(), b, func(have *admissionv1.ValidatingAdmissionPolicyBinding) { have.Spec = b.Spec })
	if err != nil {
		return fmt.Errorf("writing the ValidatingAdmissionPolicyBinding %s: %w", PolicyName, err)
	}
	fmt.Fprintf(out, "%-8s validatingadmissionpolicybinding/%s: validationActions [Deny], every namespace\n", verb, PolicyName)
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: policyReader, Labels: map[string]string{labelManaged: managedBy}},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"admissionregistration.k8s.io"},
			Resources: []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings"}, ResourceNames: []string{PolicyName}, Verbs: []string{"get"}}}}
	verb, err = upsert(ctx, rbac.ClusterRoles(), role, func(have *rbacv1.ClusterRole) { have.Rules = role.Rules })
	if err != nil {
		return fmt.Errorf("writing the ClusterRole %s: %w", policyReader, err)
	}
	fmt.Fprintf(out, "%-8s clusterrole/%s: get the policy and binding above (by name)\n", verb, policyReader)
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: policyReader, Labels: map[string]string{labelManaged: managedBy}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: policyReader},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}}
	verb, err = upsert(ctx, rbac.ClusterRoleBindings(), binding, func(have *rbacv1.ClusterRoleBinding) { have.Subjects = binding.Subjects })
	if err != nil {
		return fmt.Errorf("writing the ClusterRoleBinding %s: %w", policyReader, err)
	}
	fmt.Fprintf(out, "%-8s clusterrolebinding/%s: to system:authenticated\n", verb, policyReader)
	return nil
}

// upsert creates obj, or updates the one there with set.
func upsert[T object, L runtime.Object](ctx context.Context, r resource[T, L], obj T, set func(have T)) (string, error) {
	_, err := r.Create(ctx, obj, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return "created", err
	}
	have, err := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	set(have)
	_, err = r.Update(ctx, have, metav1.UpdateOptions{})
	return "updated", err
}

// onlyOurs refuses a namespace that holds Secrets pipectl did not write.
func (c *Client) onlyOurs(ctx context.Context) error {
	list, err := c.core.Secrets(c.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing the Secrets of %s: %w", c.ns, err)
	}
	var others []string
	for _, s := range list.Items {
		if s.Labels[labelManaged] != managedBy {
			others = append(others, s.Name)
		}
	}
	if len(others) > 0 {
		slices.Sort(others)
		return fmt.Errorf("namespace %s holds Secrets pipectl did not write (%v): the backend needs a namespace of its own, "+
			"since who may run pipectl may read and delete every Secret in it; choose another namespace", c.ns, others)
	}
	return nil
}
