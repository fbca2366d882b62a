package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The real node changes the host, not only its state directory: a bridge,
// sysctls, nftables tables, cgroups, mounts, a few hard-coded paths of the
// kubelet and containerd. One real node runs per machine. Before it changes
// anything, `up` writes a journal of what the host looked like; undoing it
// is idempotent and needs nothing but the journal, so `down` (or the next
// `up`) can clean up after a pipectl-sandbox that was killed at any point.

// nodeHome is the machine-wide home of the real node: its lock, its journal,
// containerd's state and sockets. It is removed last.
const nodeHome = "/run/pipectl-sandbox-node"

// The node's network: a bridge of its own, distinct from kwok's pod CIDR.
const (
	bridgeName   = "pipectl0"
	bridgeIP     = "10.200.0.1"
	nodePodCIDR  = "10.200.0.0/24"
	bridgeIPCIDR = bridgeIP + "/24"
)

// nodeSysctls are what the kubelet, the CNI bridge plugin and kube-proxy
// may change (docs/sandbox.md lists who changes which).
var nodeSysctls = []string{
	"net.ipv4.ip_forward", // first: writing it resets every conf/*/forwarding
	"net.ipv4.conf.all.forwarding",
	"net.ipv4.conf.default.forwarding",
	"net.ipv6.conf.all.forwarding",
	"net.ipv4.conf.all.route_localnet",
	"net.bridge.bridge-nf-call-iptables",
	"net.bridge.bridge-nf-call-ip6tables",
	"vm.overcommit_memory",
	"vm.panic_on_oom",
	"kernel.panic",
	"kernel.panic_on_oops",
	"kernel.keys.root_maxkeys",
	"kernel.keys.root_maxbytes",
	"net.netfilter.nf_conntrack_max",
	"net.netfilter.nf_conntrack_tcp_timeout_established",
	"net.netfilter.nf_conntrack_tcp_timeout_close_wait",
	"net.netfilter.nf_conntrack_tcp_be_liberal",
}

// nodePaths are paths outside the state directory that the kubelet and
// containerd create whatever their configuration says.
var nodePaths = []string{
	"/var/lib/kubelet", // device-plugins is hard-coded
	"/var/log/pods",
	"/var/log/containers", // hard-coded symlinks to the pod logs
	"/run/containerd",     // shim sockets and runc's root, whatever containerd's state dir
	"/run/netns",
	"/run/nri",
	"/var/lib/containerd",
	"/var/lib/cni",
	"/etc/cni",
	"/opt/cni",
}

// nftTables the node may create (kube-proxy's; the kubelet's iptables-nft
// chains when iptables is installed). Only those absent before are removed.
var nftTables = []string{
	"ip kube-proxy", "ip6 kube-proxy",
	"ip filter", "ip nat", "ip mangle", "ip6 filter", "ip6 nat", "ip6 mangle",
}

// kubepods is the kubelet's cgroup root (cgroupfs driver), in every
// cgroup v1 hierarchy and in the unified one.
const kubepods = "kubepods"

// journal is what the host looked like before the real node touched it.
type journal struct {
	Owner     string            `json:"owner"` // the state dir of the sandbox that owns the node
	Sysctls   map[string]string `json:"sysctls"`
	Paths     map[string]bool   `json:"paths"` // existed before
	NftTables []string          `json:"nftTables"`
	// Roots are directories under which every mount is the node's.
	Roots []string `json:"roots"`
	Shim  string   `json:"shim"` // the shim executable: its processes are the node's
}

func journalPath() string { return filepath.Join(nodeHome, "journal.json") }

func readJournal() (*journal, error) {
	b, err := os.ReadFile(journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: %w", journalPath(), err)
	}
	return &j, nil
}

// lockNode takes the machine-wide lock around claiming or releasing the node.
func lockNode() (unlock func(), err error) {
	if err := os.MkdirAll(nodeHome, 0o700); err != nil {
		return nil, err
	}
	return lock(nodeHome, time.Minute)
}

// errNodeBusy: a live sandbox other than this one owns the real node.
var errNodeBusy = errors.New("the machine's real node is taken")

// claimNode makes dir's sandbox the owner of the machine's real node,
// cleaning up after a dead owner, and journals the host as it is. While a
// live sandbox owns it, it waits up to wait for it to be released (test
// binaries of several modules share one machine), then refuses.
func claimNode(ctx context.Context, dir string, roots []string, shim string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := tryClaimNode(dir, roots, shim)
		if !errors.Is(err, errNodeBusy) || !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

func tryClaimNode(dir string, roots []string, shim string) error {
	unlock, err := lockNode()
	if err != nil {
		return err
	}
	defer unlock()
	j, err := readJournal()
	if err != nil {
		return err
	}
	if j != nil {
		if j.Owner != dir && ownerAlive(j.Owner) {
			return fmt.Errorf("%w: the sandbox in %s runs it (one per machine); stop it (pipectl-sandbox down --dir %s), wait for it (--real-node-wait), or start this one with --real-node=off",
				errNodeBusy, j.Owner, j.Owner)
		}
		if err := j.undo(); err != nil {
			return fmt.Errorf("clean up after the real node of the sandbox in %s: %w", j.Owner, err)
		}
		if err := os.MkdirAll(nodeHome, 0o700); err != nil {
			return err
		}
	}
	for _, r := range cgroupRoots() {
		if _, err := os.Stat(r); err == nil {
			return fmt.Errorf("%s exists: another kubelet runs on this machine (or a previous one left it); the real node needs the kubepods cgroup to itself", r)
		}
	}
	j = &journal{Owner: dir, Sysctls: map[string]string{}, Paths: map[string]bool{}, Roots: roots, Shim: shim}
	for _, s := range nodeSysctls {
		if v, err := readSysctl(s); err == nil {
			j.Sysctls[s] = v
		}
	}
	for _, p := range nodePaths {
		_, err := os.Lstat(p)
		j.Paths[p] = err == nil
	}
	j.NftTables = listNftTables()
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(journalPath(), b, 0o600)
}

// releaseNode undoes the real node's host changes if dir's sandbox owns it.
// Its processes must be stopped already.
func releaseNode(dir string) error {
	if _, err := os.Stat(journalPath()); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lockNode()
	if err != nil {
		return err
	}
	defer unlock()
	j, err := readJournal()
	if err != nil || j == nil || j.Owner != dir {
		return err
	}
	return j.undo()
}

// ownerAlive reports whether the sandbox in dir still has a live process.
func ownerAlive(dir string) bool {
	st, err := Load(dir)
	return err == nil && len(st.Dead()) < len(st.Processes)
}

// undo puts the host back as the journal found it, in the reverse order of
// dependence: processes, mounts, network, cgroups, sysctls, paths, and
// last the journal itself. Every step runs; the errors are joined.
func (j *journal) undo() error {
	var errs []error
	killNodeProcesses(j.Shim)
	errs = append(errs, unmountUnder(j.Roots), deleteBridge(), j.deleteNftTables())
	errs = append(errs, removeCgroups()...)
	for _, s := range nodeSysctls {
		if v, ok := j.Sysctls[s]; ok {
			if cur, err := readSysctl(s); err == nil && cur != v {
				errs = append(errs, writeSysctl(s, v))
			}
		}
	}
	for p, existed := range j.Paths {
		if !existed {
			errs = append(errs, unmountUnder([]string{p}), os.RemoveAll(p))
		}
	}
	errs = append(errs, unmountUnder([]string{nodeHome}), removeAllButLock(nodeHome))
	return errors.Join(errs...)
}

// removeAllButLock empties nodeHome but its lock (held by the caller) and
// the journal, then removes the journal: a crash before this point leaves
// the journal for the next attempt.
func removeAllButLock(dir string) error {
	entries, _ := os.ReadDir(dir)
	var errs []error
	for _, e := range entries {
		if e.Name() != lockFile && e.Name() != filepath.Base(journalPath()) {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	os.Remove(journalPath())
	os.Remove(filepath.Join(dir, lockFile))
	return os.Remove(dir)
}

// killNodeProcesses kills the containers (every process in the kubepods
// cgroups) and containerd's shims (processes of the node's shim binary).
// The sandbox's own processes (kubelet, containerd...) are stopped by Down.
func killNodeProcesses(shim string) {
	for range 50 {
		pids := cgroupPIDs()
		pids = append(pids, pidsOfExe(shim)...)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cgroupRoots are the kubepods directories of every hierarchy.
func cgroupRoots() []string {
	var roots []string
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		roots = append(roots, filepath.Join("/sys/fs/cgroup", e.Name(), kubepods))
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil { // cgroup v2 only
		roots = []string{filepath.Join("/sys/fs/cgroup", kubepods)}
	}
	return roots
}

func cgroupPIDs() []int {
	var pids []int
	for _, root := range cgroupRoots() {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroups removes the kubepods trees, deepest first.
func removeCgroups() []error {
	var errs []error
	for _, root := range cgroupRoots() {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := rmdirRetry(dirs[i]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// rmdirRetry removes a cgroup, which is busy for a moment after its last
// process died.
func rmdirRetry(dir string) error {
	var err error
	for range 50 {
		if err = syscall.Rmdir(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

// pidsOfExe returns the processes running the executable at path.
func pidsOfExe(path string) []int {
	if path == "" {
		return nil
	}
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == path {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountUnder detaches every mount at or below the roots, deepest first.
func unmountUnder(roots []string) error {
	var errs []error
	for range 5 {
		mounts := mountsUnder(roots)
		if len(mounts) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, m := range mounts {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
			}
		}
	}
	return errors.Join(errs...)
}

func mountsUnder(roots []string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		for _, r := range roots {
			if mp == r || strings.HasPrefix(mp, r+"/") {
				mounts = append(mounts, mp)
				break
			}
		}
	}
	slices.SortFunc(mounts, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return mounts
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// deleteBridge removes the node's bridge, its routes with it, and any veth
// still attached (CNI removes them with their pods; a killed node does not).
func deleteBridge() error {
	br, err := netlink.LinkByName(bridgeName)
	if err != nil {
		return nil // already gone
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			_ = netlink.LinkDel(l)
		}
	}
	if err := netlink.LinkDel(br); err != nil {
		return fmt.Errorf("delete bridge %s: %w", bridgeName, err)
	}
	return nil
}

// createBridge sets up the node's bridge with its address and a route for
// the Service CIDR, so Service traffic kube-proxy does not catch stays on
// the bridge instead of leaving through the default route.
func createBridge() error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", bridgeName, err)
	}
	addr, err := netlink.ParseAddr(bridgeIPCIDR)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(br, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", bridgeIPCIDR, bridgeName, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return err
	}
	_, svc, err := net.ParseCIDR(serviceCIDR)
	if err != nil {
		return err
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: br.Attrs().Index, Dst: svc}); err != nil {
		return fmt.Errorf("route %s via %s: %w", serviceCIDR, bridgeName, err)
	}
	return nil
}

func (j *journal) deleteNftTables() error {
	var errs []error
	for _, t := range listNftTables() {
		if slices.Contains(nftTables, t) && !slices.Contains(j.NftTables, t) {
			if out, err := exec.Command("nft", "delete", "table", strings.Fields(t)[0], strings.Fields(t)[1]).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("nft delete table %s: %v: %s", t, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// listNftTables returns "family name" of every nftables table; none when
// nft is not installed (then neither is kube-proxy's table).
func listNftTables() []string {
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		return nil
	}
	var tables []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "table" {
			tables = append(tables, f[1]+" "+f[2])
		}
	}
	return tables
}

func sysctlPath(name string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
}

func readSysctl(name string) (string, error) {
	b, err := os.ReadFile(sysctlPath(name))
	return strings.TrimSpace(string(b)), err
}

func writeSysctl(name, value string) error {
	if err := os.WriteFile(sysctlPath(name), []byte(value), 0o644); err != nil {
		return fmt.Errorf("restore %s=%s: %w", name, value, err)
	}
	return nil
}
