package kubernetes

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Roles `pipectl backend setup` creates in the backend's namespace: what
// a runner needs (runs and locks), and what a reader needs (pipectl runs,
// runs show, logs -f: records only).
var roles = map[string][]rbacv1.PolicyRule{
	"pipectl-runner": {
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete", "deletecollection"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "create", "update"}},
	},
	"pipectl-reader": {
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list"}},
	},
}

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
	fmt.Fprintf(out, "Bind them to who runs and who reads, e.g.:\n"+
		"  kubectl -n %s create rolebinding pipectl-runner --role=pipectl-runner --serviceaccount=ci:deployer\n"+
		"  kubectl -n %s create rolebinding pipectl-reader --role=pipectl-reader --group=developers\n", c.ns, c.ns)
	return nil
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
