package kubernetes

import (
	"context"
	"sync"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// The backend talks to the API server through REST clients of its own,
// over a scheme of the API groups it uses (core/v1, coordination/v1,
// rbac/v1, admissionregistration/v1, authentication/v1): client-go's typed clients register every API group's types
// (kubernetes/scheme), which doubled the size of pipectl. The resources
// below have the typed clients' method signatures.

// serializers is built on first use: a command that does not use this
// backend (most do not) does not build the scheme when it starts.
var serializers = sync.OnceValues(func() (runtime.NegotiatedSerializer, runtime.ParameterCodec) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, coordv1.AddToScheme, rbacv1.AddToScheme,
		admissionv1.AddToScheme, authnv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err) // the scheme is static: a conflict is a programming error
		}
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(scheme).WithoutConversion(), runtime.NewParameterCodec(scheme)
})

func parameterCodec() runtime.ParameterCodec {
	_, codec := serializers()
	return codec
}

// restClient is a REST client of one group version.
func restClient(cfg *rest.Config, gv schema.GroupVersion) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &gv
	c.APIPath = "/apis"
	if gv.Group == "" {
		c.APIPath = "/api"
	}
	c.NegotiatedSerializer, _ = serializers()
	return rest.RESTClientFor(c)
}

// object is what a resource holds.
type object interface {
	runtime.Object
	metav1.Object
}

// resource is one resource of one namespace ("" for a cluster-scoped one).
type resource[T object, L runtime.Object] struct {
	rc      *rest.RESTClient
	ns      string
	name    string // plural: secrets, leases
	newObj  func() T
	newList func() L
}

func (r resource[T, L]) req(verb string) *rest.Request {
	return r.rc.Verb(verb).NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name)
}

func (r resource[T, L]) Get(ctx context.Context, name string, _ metav1.GetOptions) (T, error) {
	out := r.newObj()
	return out, r.req("GET").Name(name).Do(ctx).Into(out)
}

func (r resource[T, L]) Create(ctx context.Context, obj T, _ metav1.CreateOptions) (T, error) {
	out := r.newObj()
	return out, r.req("POST").Body(obj).Do(ctx).Into(out)
}

func (r resource[T, L]) Update(ctx context.Context, obj T, _ metav1.UpdateOptions) (T, error) {
	out := r.newObj()
	return out, r.req("PUT").Name(obj.GetName()).Body(obj).Do(ctx).Into(out)
}

func (r resource[T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	out := r.newList()
	return out, r.req("GET").VersionedParams(&opts, parameterCodec()).Do(ctx).Into(out)
}

func (r resource[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return r.req("DELETE").Name(name).Body(&opts).Do(ctx).Error()
}

func (r resource[T, L]) DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, list metav1.ListOptions) error {
	return r.req("DELETE").VersionedParams(&list, parameterCodec()).Body(&opts).Do(ctx).Error()
}

// coreClient, coordClient and rbacClient are the groups the backend uses.
type coreClient struct{ rc *rest.RESTClient }

func (c coreClient) Secrets(ns string) resource[*corev1.Secret, *corev1.SecretList] {
	return resource[*corev1.Secret, *corev1.SecretList]{c.rc, ns, "secrets",
		func() *corev1.Secret { return &corev1.Secret{} }, func() *corev1.SecretList { return &corev1.SecretList{} }}
}

func (c coreClient) Namespaces() resource[*corev1.Namespace, *corev1.NamespaceList] {
	return resource[*corev1.Namespace, *corev1.NamespaceList]{c.rc, "", "namespaces",
		func() *corev1.Namespace { return &corev1.Namespace{} }, func() *corev1.NamespaceList { return &corev1.NamespaceList{} }}
}

type coordClient struct{ rc *rest.RESTClient }

func (c coordClient) Leases(ns string) resource[*coordv1.Lease, *coordv1.LeaseList] {
	return resource[*coordv1.Lease, *coordv1.LeaseList]{c.rc, ns, "leases",
		func() *coordv1.Lease { return &coordv1.Lease{} }, func() *coordv1.LeaseList { return &coordv1.LeaseList{} }}
}

type rbacClient struct{ rc *rest.RESTClient }

func (c rbacClient) Roles(ns string) resource[*rbacv1.Role, *rbacv1.RoleList] {
	return resource[*rbacv1.Role, *rbacv1.RoleList]{c.rc, ns, "roles",
		func() *rbacv1.Role { return &rbacv1.Role{} }, func() *rbacv1.RoleList { return &rbacv1.RoleList{} }}
}

func (c coreClient) ConfigMaps(ns string) resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return resource[*corev1.ConfigMap, *corev1.ConfigMapList]{c.rc, ns, "configmaps",
		func() *corev1.ConfigMap { return &corev1.ConfigMap{} }, func() *corev1.ConfigMapList { return &corev1.ConfigMapList{} }}
}

func (c rbacClient) RoleBindings(ns string) resource[*rbacv1.RoleBinding, *rbacv1.RoleBindingList] {
	return resource[*rbacv1.RoleBinding, *rbacv1.RoleBindingList]{c.rc, ns, "rolebindings",
		func() *rbacv1.RoleBinding { return &rbacv1.RoleBinding{} }, func() *rbacv1.RoleBindingList { return &rbacv1.RoleBindingList{} }}
}

func (c rbacClient) ClusterRoles() resource[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList] {
	return resource[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList]{c.rc, "", "clusterroles",
		func() *rbacv1.ClusterRole { return &rbacv1.ClusterRole{} }, func() *rbacv1.ClusterRoleList { return &rbacv1.ClusterRoleList{} }}
}

func (c rbacClient) ClusterRoleBindings() resource[*rbacv1.ClusterRoleBinding, *rbacv1.ClusterRoleBindingList] {
	return resource[*rbacv1.ClusterRoleBinding, *rbacv1.ClusterRoleBindingList]{c.rc, "", "clusterrolebindings",
		func() *rbacv1.ClusterRoleBinding { return &rbacv1.ClusterRoleBinding{} },
		func() *rbacv1.ClusterRoleBindingList { return &rbacv1.ClusterRoleBindingList{} }}
}

// admissionClient is admissionregistration.k8s.io/v1: the votes' policy.
type admissionClient struct{ rc *rest.RESTClient }

func (c admissionClient) Policies() resource[*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyList] {
	return resource[*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyList]{c.rc, "", "validatingadmissionpolicies",
		func() *admissionv1.ValidatingAdmissionPolicy { return &admissionv1.ValidatingAdmissionPolicy{} },
		func() *admissionv1.ValidatingAdmissionPolicyList { return &admissionv1.ValidatingAdmissionPolicyList{} }}
}

func (c admissionClient) Bindings() resource[*admissionv1.ValidatingAdmissionPolicyBinding, *admissionv1.ValidatingAdmissionPolicyBindingList] {
	return resource[*admissionv1.ValidatingAdmissionPolicyBinding, *admissionv1.ValidatingAdmissionPolicyBindingList]{c.rc, "", "validatingadmissionpolicybindings",
		func() *admissionv1.ValidatingAdmissionPolicyBinding {
			return &admissionv1.ValidatingAdmissionPolicyBinding{}
		},
		func() *admissionv1.ValidatingAdmissionPolicyBindingList {
			return &admissionv1.ValidatingAdmissionPolicyBindingList{}
		}}
}

// whoAmI is a SelfSubjectReview: who the API server says the caller is
// (kubectl auth whoami).
func whoAmI(ctx context.Context, rc *rest.RESTClient) (*authnv1.SelfSubjectReview, error) {
	out := &authnv1.SelfSubjectReview{}
	return out, rc.Post().Resource("selfsubjectreviews").Body(&authnv1.SelfSubjectReview{}).Do(ctx).Into(out)
}
