package cluster

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// Ports are the loopback ports of one sandbox, chosen free at `up`.
type Ports struct {
	EtcdClient        int `json:"etcdClient"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
	Registry          int `json:"registry"`
}

// Fixed cluster networks. They are only addresses in API objects: no
// packet ever goes to them, since no pod runs a container.
const (
	serviceCIDR = "10.96.0.0/16"
	podCIDR     = "10.244.0.0/16" // kwok's default overlaps its node IP
)

// fakeNodeAnnotation marks the Node objects kwok manages.
const fakeNodeAnnotation = "kwok.x-k8s.io/node"

// layout is where a sandbox keeps its files.
type layout struct {
	dir string
	pki *pki
}

func (l layout) path(name string) string { return filepath.Join(l.dir, name) }
func (l layout) kubeconfig() string      { return l.path("kubeconfig") }

func local(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func etcdArgs(l layout, p Ports) []string {
	client, peer := "http://"+local(p.EtcdClient), "http://"+local(p.EtcdPeer)
	return []string{
		"--name=sandbox",
		"--data-dir=" + l.path("etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=sandbox=" + peer,
		"--unsafe-no-fsync", // throwaway data: durability buys nothing, fsync costs seconds
		"--log-level=warn",
	}
}

func apiServerArgs(l layout, p Ports) []string {
	return []string{
		"--etcd-servers=http://" + local(p.EtcdClient),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.APIServer),
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // the only way to advertise a loopback address
		"--tls-cert-file=" + l.pki.ServerCert,
		"--tls-private-key-file=" + l.pki.ServerKey,
		"--client-ca-file=" + l.pki.CACert,
		// Front-proxy (aggregation) settings, as in a real cluster: without
		// them every component's authentication complains forever.
		"--requestheader-client-ca-file=" + l.pki.CACert,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + l.pki.SAPub,
		"--service-account-signing-key-file=" + l.pki.SAKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		// A kubelet changes only its own Node and the pods bound to it.
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
		"--cert-dir=" + l.path("pki/apiserver"),
		// The real node's kubelet: reached on its node IP (the bridge), as
		// a client it authenticates with a certificate and authorizes by
		// webhook (the admin identity, which may do everything).
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-client-certificate=" + l.pki.AdminCert,
		"--kubelet-client-key=" + l.pki.AdminKey,
	}
}

// controlLoopArgs are the flags kube-controller-manager and kube-scheduler
// share: the admin kubeconfig for everything, health on a loopback port.
func controlLoopArgs(l layout, port int, name string) []string {
	return []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--authentication-kubeconfig=" + l.kubeconfig(),
		"--authorization-kubeconfig=" + l.kubeconfig(),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + l.path("pki/"+name),
		"--leader-elect=false",
		"--profiling=false",
	}
}

func controllerManagerArgs(l layout, p Ports) []string {
	return append(controlLoopArgs(l, p.ControllerManager, "kube-controller-manager"),
		"--service-account-private-key-file="+l.pki.SAKey,
		"--root-ca-file="+l.pki.CACert,
		"--cluster-name=pipectl-sandbox",
	)
}

func schedulerArgs(l layout, p Ports) []string {
	return controlLoopArgs(l, p.Scheduler, "kube-scheduler")
}

func kwokArgs(l layout) []string {
	return []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--config=" + l.path("kwok-stages.yaml"),
		fmt.Sprintf("--manage-nodes-with-annotation-selector=%s=fake", fakeNodeAnnotation),
		"--cidr=" + podCIDR,
		// Renew node Leases like a kubelet, so the node lifecycle controller
		// keeps the nodes Ready (kwok leaves leases off without an explicit value).
		"--node-lease-duration-seconds=40",
	}
}

func registryArgs(p Ports) []string {
	return []string{"--addr=" + local(p.Registry)}
}
