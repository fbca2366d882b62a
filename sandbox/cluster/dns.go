package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Cluster DNS for the real node: CoreDNS (bin/sandbox-node/coredns) runs on
// the host, listening on the bridge IP, with a read-only identity of its
// own. The kube-dns Service (the kubelet's clusterDNS) has one endpoint, that
// address; kube-proxy carries pods' queries there.

// DNSUser is CoreDNS's user name: its client certificate's common name,
// bound to a ClusterRole that may only read what CoreDNS serves.
const DNSUser = "pipectl-sandbox:coredns"

// dnsServiceIP is the kube-dns Service's ClusterIP (kubeadm's choice for
// the Service CIDR 10.96.0.0/16).
const dnsServiceIP = "10.96.0.10"

const corefile = `.:53 {
    bind @BRIDGEIP@
    errors
    cache 10
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig @KUBECONFIG@ pipectl-sandbox-@NAME@
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
}
`

// setUpDNS writes CoreDNS's kubeconfig and Corefile, grants its identity
// read access and creates the kube-dns Service with its endpoint. It
// returns CoreDNS's command line arguments.
func setUpDNS(ctx context.Context, c kubernetes.Interface, n nodeLayout, l layout, st *State) ([]string, error) {
	kubeconfig := n.path("coredns.kubeconfig")
	if err := writeKubeconfigAs(kubeconfig, st.Name, st.Server, l.pki.CACert, l.pki.DNSCert, l.pki.DNSKey); err != nil {
		return nil, err
	}
	conf := n.path("Corefile")
	body := strings.NewReplacer("@BRIDGEIP@", bridgeIP, "@KUBECONFIG@", kubeconfig, "@NAME@", st.Name).Replace(corefile)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	if err := grantDNSRead(ctx, c); err != nil {
		return nil, err
	}
	if err := createDNSService(ctx, c); err != nil {
		return nil, err
	}
	return []string{"-conf", conf}, nil
}

func grantDNSRead(ctx context.Context, c kubernetes.Interface) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: DNSUser},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: DNSUser},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: DNSUser},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: DNSUser}},
	}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ClusterRole %s: %w", DNSUser, err)
	}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ClusterRoleBinding %s: %w", DNSUser, err)
	}
	return nil
}

// createDNSService makes kube-system/kube-dns, without a selector: its one
// endpoint is CoreDNS on the host's bridge address.
func createDNSService(ctx context.Context, c kubernetes.Interface) error {
	ports := []corev1.ServicePort{
		{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
		{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system",
			Labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
		Spec: corev1.ServiceSpec{ClusterIP: dnsServiceIP, Ports: ports},
	}
	if _, err := c.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Service kube-system/kube-dns: %w", err)
	}
	udp, tcp, port := corev1.ProtocolUDP, corev1.ProtocolTCP, int32(53)
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns-sandbox", Namespace: "kube-system",
			Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns", discoveryv1.LabelManagedBy: "pipectl-sandbox"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{bridgeIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports: []discoveryv1.EndpointPort{
			{Name: new("dns"), Protocol: &udp, Port: &port},
			{Name: new("dns-tcp"), Protocol: &tcp, Port: &port},
		},
	}
	if _, err := c.DiscoveryV1().EndpointSlices("kube-system").Create(ctx, slice, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the kube-dns EndpointSlice: %w", err)
	}
	return nil
}
