package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pipectl/pipectl/sandbox/images"
)

// RealNodeMode says whether `up` runs a real node (a kubelet with
// containerd, runc, CNI and kube-proxy) beside the kwok nodes.
type RealNodeMode string

const (
	RealNodeAuto RealNodeMode = "auto" // wherever it can run; elsewhere say why, loudly
	RealNodeOn   RealNodeMode = "on"   // or fail
	RealNodeOff  RealNodeMode = "off"
)

// RealNodeName is the real node's Node name.
const RealNodeName = "sandbox-real-node"

// FakeNodeTaint keeps pods off the kwok nodes while a real node is up;
// only pods that tolerate it (tests asking for fake nodes) land there.
const FakeNodeTaint = "pipectl.dev/fake-node"

// NodeBinaries are the runtime executables the real node needs, relative
// to the node binary directory (bin/sandbox-node, built by `make build`).
var NodeBinaries = []string{"containerd", "containerd-shim-runc-v2", "runc", "pause",
	"cni/bridge", "cni/host-local", "cni/loopback", "cni/portmap",
	"podinfo/podinfo", "podinfo/podcli", "podinfo/ui/vue.html", "coredns"}

// pauseRef is where `up` pushes the Go-built pause image.
const pauseRef = "pipectl/pause:3.10"

// PodinfoTags are the tags under which `up` pushes podinfo, built from
// sandbox/runtime/podinfo (6.14.1, the release of the shared chart): that
// chart asks for ghcr.io/stefanprodan/podinfo:6.14.1, mapped to the
// sandbox registry. The tag must be the version built: a chart passes the
// flags of its own release (6.9.2 exits 2 on 6.14.1's --prefix).
var PodinfoTags = []string{"6.14.1", "latest"}

// pushNodeImages pushes the pause image and podinfo to the registry; it
// returns the pause image's reference.
func pushNodeImages(ctx context.Context, bin, registry string) (string, error) {
	pause, err := images.PushFiles(ctx, images.Spec{
		Files:      []images.File{{Source: filepath.Join(bin, "pause"), Target: "/pause", Mode: 0o755}},
		Entrypoint: []string{"/pause"},
	}, registry+"/"+pauseRef)
	if err != nil {
		return "", fmt.Errorf("push the pause image: %w", err)
	}
	// As podinfo's own Dockerfile lays it out (its chart runs ./podinfo and
	// probes with podcli).
	var refs []string
	for _, t := range PodinfoTags {
		refs = append(refs, registry+"/stefanprodan/podinfo:"+t)
	}
	_, err = images.PushFiles(ctx, images.Spec{
		Files: []images.File{
			{Source: filepath.Join(bin, "podinfo", "podinfo"), Target: "/home/app/podinfo", Mode: 0o755},
			{Source: filepath.Join(bin, "podinfo", "podcli"), Target: "/usr/local/bin/podcli", Mode: 0o755},
			{Source: filepath.Join(bin, "podinfo", "ui", "vue.html"), Target: "/home/app/ui/vue.html", Mode: 0o644},
		},
		Cmd:        []string{"./podinfo"},
		WorkingDir: "/home/app",
	}, refs...)
	if err != nil {
		return "", fmt.Errorf("push podinfo: %w", err)
	}
	return pause, nil
}

// RealNodeUnavailable returns why a real node cannot run here, or "" if it
// can: Linux, root, the runtime binaries in nodeBin, nft on the PATH.
func RealNodeUnavailable(nodeBin string) string {
	if runtime.GOOS != "linux" {
		return "a real node needs Linux (this is " + runtime.GOOS + ")"
	}
	if os.Geteuid() != 0 {
		return "a real node needs root (kubelet, containerd and runc manage cgroups, mounts and network namespaces)"
	}
	for _, b := range NodeBinaries {
		if _, err := os.Stat(filepath.Join(nodeBin, b)); err != nil {
			return fmt.Sprintf("%s is missing (run make build)", filepath.Join(nodeBin, b))
		}
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return "nft is not installed (kube-proxy needs it; apt-get install nftables, or run make build)"
	}
	return ""
}

// nodeLayout is where the real node keeps its files: persistent ones under
// the state dir, sockets and containerd's state under nodeHome.
type nodeLayout struct {
	dir string // <state>/node
	bin string // the runtime binaries
}

func (n nodeLayout) path(name string) string { return filepath.Join(n.dir, name) }
func (n nodeLayout) socket() string          { return filepath.Join(nodeHome, "containerd.sock") }

// startRealNode claims the machine's real node and starts it: bridge,
// containerd, kubelet, kube-proxy; it returns once the node is Ready.
func (s *starter) startRealNode(ctx context.Context, client kubernetes.Interface) error {
	n := nodeLayout{dir: s.l.path("node"), bin: s.o.NodeBin}
	// Resolved: the journal finds the shims by their /proc/PID/exe.
	shim, err := filepath.EvalSymlinks(filepath.Join(n.bin, "containerd-shim-runc-v2"))
	if err == nil {
		shim, err = filepath.Abs(shim)
	}
	if err != nil {
		return err
	}
	if err := claimNode(ctx, s.st.Dir, []string{nodeHome, n.dir}, shim, s.o.NodeWait); err != nil {
		return err
	}
	s.st.RealNode = RealNodeName
	if err := s.st.save(); err != nil {
		return err
	}
	if err := createBridge(); err != nil {
		return err
	}
	pause, err := pushNodeImages(ctx, n.bin, s.st.Registry)
	if err != nil {
		return err
	}
	if err := writeNodeConfig(n, s.l, s.st, pause); err != nil {
		return err
	}
	if err := writeKubeconfigAs(n.path("kubelet.kubeconfig"), s.st.Name, s.st.Server, s.l.pki.CACert, s.l.pki.NodeCert, s.l.pki.NodeKey); err != nil {
		return err
	}
	containerd := exec.Command(filepath.Join(n.bin, "containerd"), "--config", n.path("containerd.toml"))
	containerd.Env = append(os.Environ(), "PATH="+n.bin+":"+os.Getenv("PATH")) // it finds the shim on PATH
	if err := s.runCmd("containerd", containerd); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "containerd", "containerd", socketUp(n.socket())); err != nil {
		return err
	}
	dnsArgs, err := setUpDNS(ctx, client, n, s.l, s.st)
	if err != nil {
		return err
	}
	if err := s.runCmd("coredns", exec.Command(filepath.Join(n.bin, "coredns"), dnsArgs...)); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"kubelet", kubeletArgs(n, s.l)},
		{"kube-proxy", []string{"--config=" + n.path("kube-proxy.yaml")}},
	} {
		if err := s.run(c.name, c.args); err != nil {
			return err
		}
	}
	return s.waitFor(ctx, "the real node Ready", "kubelet", func(ctx context.Context) (bool, error) {
		return nodesReady(ctx, client, []string{RealNodeName})
	})
}

func socketUp(path string) condition {
	return func(ctx context.Context) (bool, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "unix", path)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	}
}

func kubeletArgs(n nodeLayout, l layout) []string {
	return []string{
		"--config=" + n.path("kubelet.yaml"),
		"--kubeconfig=" + n.path("kubelet.kubeconfig"), // the node's own identity, not the admin's
		// Under nodeHome, not the state dir: the kubelet makes unix sockets
		// there, whose paths must stay short (108 bytes).
		"--root-dir=" + filepath.Join(nodeHome, "kubelet"),
		"--cert-dir=" + n.path("kubelet-pki"), // else /var/lib/kubelet/pki
		"--node-ip=" + bridgeIP,
		"--hostname-override=" + RealNodeName,
		"--node-labels=pipectl.dev/node=real",
		"--v=1",
	}
}

// writeNodeConfig writes the configuration of containerd, CNI, the
// kubelet and kube-proxy. docs/sandbox.md explains each non-default value.
func writeNodeConfig(n nodeLayout, l layout, st *State, pause string) error {
	for _, d := range []string{"containerd", "kubelet-pki", "pod-logs", "cni/net.d", "cni/ipam", "opt"} {
		if err := os.MkdirAll(n.path(d), 0o700); err != nil {
			return err
		}
	}
	bin, err := filepath.Abs(n.bin)
	if err != nil {
		return err
	}
	r := strings.NewReplacer(
		"@ROOT@", n.path("containerd"), "@STATE@", filepath.Join(nodeHome, "containerd"),
		"@SOCKET@", n.socket(), "@PAUSE@", pause, "@CERTSD@", n.path("certs.d"),
		"@BIN@", bin, "@CNICONF@", n.path("cni/net.d"), "@IPAM@", n.path("cni/ipam"),
		"@OPT@", n.path("opt"), "@BRIDGE@", bridgeName, "@BRIDGEIP@", bridgeIP,
		"@PODCIDR@", nodePodCIDR, "@SERVICECIDR@", serviceCIDR, "@PODLOGS@", n.path("pod-logs"),
		"@CA@", l.pki.CACert, "@KUBECONFIG@", l.kubeconfig(), "@NODE@", RealNodeName, "@DNS@", dnsServiceIP,
	)
	files := map[string]string{
		"containerd.toml":               containerdConfig,
		"cni/net.d/10-sandbox.conflist": cniConfig,
		"kubelet.yaml":                  kubeletConfig,
		"kube-proxy.yaml":               kubeProxyConfig,
		// containerd reads these on each pull: the registry's port changes
		// every up. The public registries map to the sandbox's, which holds
		// what the sandbox builds (nothing else is reachable).
		"certs.d/" + st.Registry + "/hosts.toml": registryHosts(st.Registry),
		"certs.d/ghcr.io/hosts.toml":             registryHosts(st.Registry),
		"certs.d/docker.io/hosts.toml":           registryHosts(st.Registry),
	}
	for name, body := range files {
		p := n.path(name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(r.Replace(body)), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func registryHosts(addr string) string {
	return fmt.Sprintf("server = \"http://%s\"\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", addr, addr)
}

// containerd v2 config version 4. Its old top-level [grpc]/[ttrpc] sections
// are silently ignored there: the addresses belong to the server plugins.
const containerdConfig = `version = 4
root = "@ROOT@"
state = "@STATE@"
[plugins.'io.containerd.server.v1.grpc']
  address = "@SOCKET@"
[plugins.'io.containerd.server.v1.ttrpc']
  address = "@SOCKET@.ttrpc"
[plugins.'io.containerd.internal.v1.opt']
  path = "@OPT@"
[plugins.'io.containerd.nri.v1.nri']
  disable = true
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "@PAUSE@"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = "@CERTSD@"
[plugins.'io.containerd.cri.v1.runtime']
  # Root here may lack CAP_SYS_RESOURCE: without this no pod starts
  # (runc cannot lower the pause container's oom_score_adj).
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "@BIN@/runc"
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["@BIN@/cni"]
    conf_dir = "@CNICONF@"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
`

// The bridge plugin adds no pod routes with isGateway: the Service CIDR
// route lets pods reach ClusterIPs; no default route, so pods cannot reach
// beyond the machine.
const cniConfig = `{"cniVersion": "0.4.0", "name": "sandbox", "plugins": [
  {"type": "bridge", "bridge": "@BRIDGE@", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "@PODCIDR@", "gateway": "@BRIDGEIP@"}]],
            "dataDir": "@IPAM@", "routes": [{"dst": "@SERVICECIDR@"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
`

const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://@SOCKET@
address: @BRIDGEIP@
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "@CA@"}
authorization: {mode: Webhook}
podCIDR: @PODCIDR@
podLogsDir: "@PODLOGS@"
maxPods: 50
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
clusterDNS: ["@DNS@"]
failSwapOn: false
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
protectKernelDefaults: false
makeIPTablesUtilChains: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
`

// conntrack and localhost NodePorts are off so that kube-proxy leaves the
// host's sysctls alone.
const kubeProxyConfig = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "@KUBECONFIG@"}
mode: nftables
clusterCIDR: @PODCIDR@
hostnameOverride: @NODE@
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
nodePortAddresses: ["@BRIDGEIP@/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`

// taintFakeNodes keeps pods off the kwok nodes: a real node runs them.
func taintFakeNodes(ctx context.Context, c kubernetes.Interface, names []string) error {
	for _, name := range names {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: FakeNodeTaint, Value: "true", Effect: corev1.TaintEffectNoSchedule})
		if _, err := c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("taint node %s: %w", name, err)
		}
	}
	return nil
}
