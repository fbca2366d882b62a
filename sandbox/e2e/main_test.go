// Package e2e tests the sandbox from the outside: it runs the built
// bin/pipectl-sandbox binary (make sandbox) and uses the clusters it starts
// with kubectl, client-go, the Helm SDK and go-containerregistry.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pipectl/pipectl/sandbox/cluster"
)

// binary returns the pipectl-sandbox binary under test: $PIPECTL_SANDBOX_BIN,
// or bin/pipectl-sandbox at the repository root. A missing binary fails
// the test in CI and skips it, loudly, elsewhere.
func binary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("PIPECTL_SANDBOX_BIN")
	if bin == "" {
		abs, err := filepath.Abs("../../bin/pipectl-sandbox")
		if err != nil {
			t.Fatal(err)
		}
		bin = abs
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "pipectl-sandbox binary not found at " + bin + " (build it with `make sandbox`)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED, NOT PASSED: " + msg)
	}
	return bin
}

// result is one finished run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// startSandbox runs `up` for a sandbox in dir, kwok nodes only unless args
// ask for the real node; safe from any goroutine.
func startSandbox(bin, dir string, args ...string) (*cluster.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"up", "--quiet", "--dir", dir, "--real-node=off"}, args...)...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("up: %v\n%s", err, out)
	}
	return cluster.Load(dir)
}

// stopWhenDone stops the sandbox in dir, if still there, when the test ends.
func stopWhenDone(t *testing.T, bin, dir string) {
	t.Cleanup(func() {
		if _, err := os.Stat(dir); err == nil {
			if r := run(t, bin, "down", "--dir", dir); r.code != 0 {
				t.Errorf("down exited %d: %s", r.code, r.stderr)
			}
		}
	})
}

// up starts a sandbox in a fresh directory and stops it when the test ends.
func up(t *testing.T, bin string, args ...string) *cluster.State {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sandbox")
	stopWhenDone(t, bin, dir)
	start := time.Now()
	st, err := startSandbox(bin, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sandbox up in %s", time.Since(start).Round(time.Millisecond))
	return st
}

func client(t *testing.T, st *cluster.State) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond every 100ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	var lastErr error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
	}
	t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
}

// requireGone fails unless none of the sandbox's processes runs any more
// and its directory is removed.
func requireGone(t *testing.T, st *cluster.State) {
	t.Helper()
	for _, p := range st.Processes {
		if p.Alive() {
			t.Errorf("%s (pid %d) still running", p.Name, p.PID)
		}
	}
	if procs := processesMentioning(st.Dir); len(procs) > 0 {
		t.Errorf("processes still mention %s: %v", st.Dir, procs)
	}
	if _, err := os.Stat(st.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory %s still exists (err %v)", st.Dir, err)
	}
}

func readyNodes(t *testing.T, c kubernetes.Interface) int {
	t.Helper()
	nodes, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range nodes.Items {
		for _, cond := range node.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				n++
			}
		}
	}
	return n
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// processesMentioning lists the live processes whose command line contains
// s (every sandbox component's flags name its state directory).
func processesMentioning(s string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(stat) {
			continue
		}
		found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func lastLine(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return lines[len(lines)-1]
}
