package cluster

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes an admin kubeconfig with the certificates
// embedded, so the file works wherever it is copied.
func writeKubeconfig(path, name, server string, p *pki) error {
	return writeKubeconfigAs(path, name, server, p.CACert, p.AdminCert, p.AdminKey)
}

// writeKubeconfigAs writes a kubeconfig for the client certificate certPath.
func writeKubeconfigAs(path, name, server, caPath, certPath, keyPath string) error {
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	ctx := "pipectl-sandbox-" + name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ctx] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[ctx] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[ctx] = &clientcmdapi.Context{Cluster: ctx, AuthInfo: ctx, Namespace: "default"}
	cfg.CurrentContext = ctx
	return clientcmd.WriteToFile(*cfg, path)
}

func newClient(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	return kubernetes.NewForConfig(cfg)
}

// NodeSpec is the size of each fake node. Allocatable equals capacity: the
// scheduler's resource checks work against these numbers.
type NodeSpec struct {
	Count  int
	CPU    string // a Kubernetes quantity, e.g. "4" or "3500m"
	Memory string // e.g. "8Gi"
	Pods   int
}

func (s NodeSpec) validate() error {
	if s.Count < 1 {
		return fmt.Errorf("--nodes must be at least 1, got %d", s.Count)
	}
	if _, err := resource.ParseQuantity(s.CPU); err != nil {
		return fmt.Errorf("--node-cpu %q is not a Kubernetes quantity (e.g. 4, 3500m)", s.CPU)
	}
	if _, err := resource.ParseQuantity(s.Memory); err != nil {
		return fmt.Errorf("--node-memory %q is not a Kubernetes quantity (e.g. 8Gi, 512Mi)", s.Memory)
	}
	if s.Pods < 1 {
		return fmt.Errorf("--node-pods must be at least 1, got %d", s.Pods)
	}
	return nil
}

func nodeName(i int) string { return fmt.Sprintf("sandbox-node-%d", i) }

// createNodes registers the fake nodes; kwok, which manages nodes carrying
// the fake-node annotation, then plays their kubelet.
func createNodes(ctx context.Context, c kubernetes.Interface, s NodeSpec) ([]string, error) {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse(s.CPU),
		corev1.ResourceMemory:           resource.MustParse(s.Memory),
		corev1.ResourcePods:             *resource.NewQuantity(int64(s.Pods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	var names []string
	for i := 1; i <= s.Count; i++ {
		name := nodeName(i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{fakeNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels: map[string]string{
					"kubernetes.io/hostname": name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
					"type":                   "kwok",
				},
			},
			Status: corev1.NodeStatus{Capacity: resources, Allocatable: resources},
		}
		if _, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create node %s: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

// nodesReady reports whether every named node has condition Ready=True.
func nodesReady(ctx context.Context, c kubernetes.Interface, names []string) (bool, error) {
	for _, name := range names {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			ready = ready || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
		}
		if !ready {
			return false, nil
		}
	}
	return true, nil
}

// defaultServiceAccount reports whether the controller-manager has created
// the default ServiceAccount; until then the apiserver rejects pods.
func defaultServiceAccount(ctx context.Context, c kubernetes.Interface) (bool, error) {
	_, err := c.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
