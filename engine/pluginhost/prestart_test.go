package pluginhost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/pipectl/pipectl/internal/testbin"
)

// stdBinary is the std plugin, built once for these tests and run as a
// real process.
var stdBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test")
	if err != nil {
		panic(err)
	}
	stdBinary = filepath.Join(dir, BinaryName("std"))
	if err := testbin.Build(stdBinary, "plugins/std"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedCopies puts a copy of the std plugin at each of paths (relative to
// a fresh pipeline directory) and locks plugin names to it.
func lockedCopies(t *testing.T, names []string, paths ...string) (string, *LockFile) {
	t.Helper()
	bin := stdBinary
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := Checksum(bin)
	if err != nil {
		t.Fatal(err)
	}
	lock := &LockFile{Plugins: map[string]LockedPlugin{}}
	for _, n := range names {
		lock.Plugins[n] = LockedPlugin{Version: "0.1.0", SHA256: sum}
	}
	return dir, lock
}

// prestartedPid waits for the prestarted plugin called name and says its pid.
func prestartedPid(t *testing.T, pre *Prestarted, name string) int {
	t.Helper()
	pre.mu.Lock()
	l := pre.launches[name]
	pre.mu.Unlock()
	if l == nil {
		t.Fatalf("%s was not prestarted", name)
	}
	<-l.done
	if l.err != nil {
		t.Fatalf("prestarting %s: %v", name, l.err)
	}
	return l.plugin.Pid()
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A plugin started while the pipeline loaded is the process that serves
// it; a locked plugin the pipeline does not use stops with the host.
func TestPrestartedPluginServesItsFirstUse(t *testing.T) {
	dir, lock := lockedCopies(t, []string{"std", "other"},
		".pipectl/plugins/pipectl-plugin-std", ".pipectl/plugins/pipectl-plugin-other")
	pre := Prestart(dir, lock, nil)
	std, other := prestartedPid(t, pre, "std"), prestartedPid(t, pre, "other")

	h := NewHost(dir, map[string]string{"std": ""}, lock, nil)
	h.Adopt(pre)
	p, schema, err := h.Plugin(context.Background(), "std")
	if err != nil {
		t.Fatal(err)
	}
	if p.Pid() != std || schema == nil || len(schema.Actions) == 0 {
		t.Fatalf("std is served by pid %d (schema %v), not by the prestarted %d", p.Pid(), schema, std)
	}
	h.Close()
	for name, pid := range map[string]int{"std": std, "other": other} {
		if alive(pid) {
			t.Errorf("%s (pid %d) still runs after the host closed", name, pid)
		}
	}
}

// A plugin block whose source names another binary gets that binary: the
// prestarted default one is stopped, not used.
func TestPrestartedPluginOfAnotherSourceIsStopped(t *testing.T) {
	dir, lock := lockedCopies(t, []string{"std"}, ".pipectl/plugins/pipectl-plugin-std", "bin/my-std")
	pre := Prestart(dir, lock, nil)
	prestarted := prestartedPid(t, pre, "std")

	h := NewHost(dir, map[string]string{"std": "./bin/my-std"}, lock, nil)
	h.Adopt(pre)
	defer h.Close()
	p, _, err := h.Plugin(context.Background(), "std")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.Pid()), "exe"))
	if err != nil || exe != filepath.Join(dir, "bin", "my-std") {
		t.Fatalf("std runs %q (%v), not the binary its source names", exe, err)
	}
	if alive(prestarted) {
		t.Errorf("the prestarted std (pid %d) still runs beside the one the source names", prestarted)
	}
}

// A pipeline that does not load closes what was prestarted for it.
func TestClosedPrestartLeavesNothingRunning(t *testing.T) {
	dir, lock := lockedCopies(t, []string{"std"}, ".pipectl/plugins/pipectl-plugin-std")
	pre := Prestart(dir, lock, nil)
	pid := prestartedPid(t, pre, "std")
	pre.Close()
	if alive(pid) {
		t.Fatalf("pid %d still runs after Close", pid)
	}
	var none *Prestarted
	none.Close() // nothing prestarted: nothing to do
}
