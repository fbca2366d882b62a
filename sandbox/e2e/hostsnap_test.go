package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostSnapshot is what a real node may change on the machine, read
// independently of the sandbox's own record of it: a test compares one taken
// before `up` with one taken after `down`.
type hostSnapshot map[string][]string

// snapshotHost reads the parts of the machine a real node touches.
// sandboxBin's directory holds the binaries whose processes count.
func snapshotHost(t *testing.T, sandboxBin string) hostSnapshot {
	t.Helper()
	s := hostSnapshot{}
	binDir := filepath.Dir(sandboxBin)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, binDir+"/") {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			s["processes"] = append(s["processes"], e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(line); len(f) > 9 {
				s["mounts"] = append(s["mounts"], f[4]+" "+f[len(f)-3]) // mount point, fs type
			}
		}
	}
	_ = filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		// Two levels (hierarchy/group) hold the kubelet's kubepods; deeper,
		// the machine's own groups come and go with its other processes.
		if strings.Count(strings.TrimPrefix(path, "/sys/fs/cgroup"), "/") > 2 {
			return fs.SkipDir
		}
		s["cgroups"] = append(s["cgroups"], path)
		return nil
	})
	s["links"] = command(t, "ip", "-o", "link", "show")
	s["addresses"] = command(t, "ip", "-o", "addr", "show")
	s["routes"] = command(t, "ip", "route", "show", "table", "all")
	s["nftables"] = command(t, "nft", "list", "ruleset")
	if _, err := exec.LookPath("iptables-save"); err == nil {
		s["iptables"] = command(t, "iptables-save")
	}
	for _, pattern := range []string{
		"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/conf/*/forwarding",
		"/proc/sys/net/ipv4/conf/*/route_localnet", "/proc/sys/net/ipv6/conf/*/forwarding",
		"/proc/sys/net/bridge/*", "/proc/sys/vm/overcommit_memory", "/proc/sys/vm/panic_on_oom",
		"/proc/sys/kernel/panic", "/proc/sys/kernel/panic_on_oops", "/proc/sys/kernel/keys/root_max*",
		"/proc/sys/net/netfilter/nf_conntrack_max", "/proc/sys/net/netfilter/nf_conntrack_tcp_*",
	} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				s["sysctls"] = append(s["sysctls"], p+"="+strings.TrimSpace(string(b)))
			}
		}
	}
	// Files outside the state dir: where the kubelet, containerd, runc and
	// CNI put things by default.
	for _, dir := range []string{"/run", "/var/run", "/var/lib", "/var/log", "/etc", "/opt", "/etc/cni", "/var/lib/kubelet", "/run/containerd"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			s["files"] = append(s["files"], dir+": absent")
			continue
		}
		for _, e := range entries {
			s["files"] = append(s["files"], filepath.Join(dir, e.Name()))
		}
	}
	for k := range s {
		slices.Sort(s[k])
	}
	return s
}

func command(t *testing.T, name string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// requireSameHost fails the test with every difference between two snapshots.
func requireSameHost(t *testing.T, before, after hostSnapshot) {
	t.Helper()
	for _, k := range slices.Sorted(keys(before, after)) {
		added, removed := diff(before[k], after[k])
		for _, a := range added {
			t.Errorf("%s: left behind: %s", k, a)
		}
		for _, r := range removed {
			t.Errorf("%s: gone or changed: %s", k, r)
		}
	}
}

func keys(maps ...hostSnapshot) func(func(string) bool) {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range maps {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					if !yield(k) {
						return
					}
				}
			}
		}
	}
}

func diff(before, after []string) (added, removed []string) {
	for _, a := range after {
		if !slices.Contains(before, a) {
			added = append(added, a)
		}
	}
	for _, b := range before {
		if !slices.Contains(after, b) {
			removed = append(removed, b)
		}
	}
	return added, removed
}

// String is for failure messages.
func (s hostSnapshot) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(keys(s)) {
		fmt.Fprintf(&b, "%s: %d entries\n", k, len(s[k]))
	}
	return b.String()
}
